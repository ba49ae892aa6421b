// `node bench/snapshot.ts`: the snapshot program against etcd's own floor, `etcdctl snapshot save`,
// on a ~100 MB database (one member on loopback). Not a test: it prints a markdown table. The
// program's time includes its process start, picking a member, our sha256 check and etcdutl's
// status; etcdctl's only the stream to disk. Env: BENCH_SNAPSHOT_MB (default 100), BENCH_REPS (3).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd, waitHealthy } from '../test/world/etcd.ts';
import { programEnv, runToExit } from '../test/world/programs.ts';
import { tempDir } from '../test/world/procs.ts';
import { etcdTool } from '../test/world/tools.ts';

const mb = Number(process.env.BENCH_SNAPSHOT_MB ?? 100);
const reps = Number(process.env.BENCH_REPS ?? 3);
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const m = await startEtcd({ name: 'bench-snap', args: ['--quota-backend-bytes', String(4 * mb * 1024 * 1024)] });
try {
  await waitHealthy(m);
  const c = new Etcd3({ hosts: m.clientUrl });
  const value = Buffer.alloc(256 * 1024, 'x').toString();
  const n = Math.ceil((mb * 1024 * 1024) / value.length);
  log(`writing ${n} keys of 256 KiB`);
  for (let i = 0; i < n; i++) await c.put(`bench/${i}`).value(value);
  c.close();
  const logDir = tempDir();
  const floor: number[] = [];
  const ours: number[] = [];
  let size = 0;
  for (let r = 0; r < reps; r++) {
    const dir = tempDir();
    let t = performance.now();
    execFileSync(etcdTool('etcdctl'), ['--endpoints', m.clientUrl, 'snapshot', 'save', join(dir, 'floor.db')], {
      stdio: 'ignore',
    });
    floor.push(performance.now() - t);
    size = statSync(join(dir, 'floor.db')).size;
    rmSync(join(dir, 'floor.db'));
    t = performance.now();
    const run = await runToExit(
      'snapshot',
      'bench-snapshot',
      [],
      programEnv({
        DEIS_ETCD_ENDPOINTS: m.clientUrl,
        DEIS_ETCD_DIR: dir,
        DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
      }),
      logDir,
      300_000,
    );
    ours.push(performance.now() - t);
    if (run.code !== 0) throw new Error(`snapshot failed: ${run.log.slice(-2000)}`);
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
  }
  const f = median(floor);
  const o = median(ours);
  process.stdout.write(
    `| database | etcdctl snapshot save (median of ${reps}) | deis-etcd snapshot | ratio |\n|---|---|---|---|\n` +
      `| ${(size / 1024 / 1024).toFixed(0)} MiB | ${(f / 1000).toFixed(2)} s | ${(o / 1000).toFixed(2)} s | ${(o / f).toFixed(2)} |\n`,
  );
} finally {
  await m.proc.stop();
}
