// RSS bench (not a test): the steady resident memory of boot's and discovery's own process (their
// etcd children not counted) per runtime and per V8 lever, against the targets (boot <= 80 MiB,
// discovery <= 70 MiB). Each case starts a discovery service (size 1) and one boot member on their
// own loopback addresses without Kubernetes, waits until both are ready, lets them settle, and reads
// VmRSS from /proc. Levers go in through NODE_OPTIONS, which Node and the single executable both read.
//
// It also prints boot's spawn to etcd start: from boot's process start to its etcd child's (both from
// /proc/<pid>/stat starttime, 10 ms ticks), target <= 400 ms.
//
// Usage: node bench/rss.ts            Env: RSS_REPS (default 2), RSS_SETTLE_MS (default 5000),
//   RSS_RUNTIMES (comma list of: source, bundle, executable; default all),
//   RSS_LEVERS (comma list of lever names below; default all)
// Writes bench/results/rss-<time>.json and prints a Markdown table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeAddress } from '../test/world/net.ts';
import { startProcess, tempDir, waitFor, GiveUp, type TestProcess } from '../test/world/procs.ts';
import { etcdTool } from '../test/world/tools.ts';

const root = new URL('..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const reps = Number(process.env.RSS_REPS ?? 2);
const settleMs = Number(process.env.RSS_SETTLE_MS ?? 5000);
const TARGET = { boot: 80, discovery: 70, spawnToEtcdMs: 400 };

type Launcher = (program: 'boot' | 'discovery', cli: string[]) => string[];
const runtimes: Record<string, { launch: Launcher; takesCli: boolean }> = {
  source: { launch: (p, cli) => [node, ...cli, join(root, 'cmd', p, 'main.ts')], takesCli: true },
  bundle: { launch: (p, cli) => [node, ...cli, join(root, 'dist', `${p}.cjs`)], takesCli: true },
  executable: { launch: (p) => [join(root, 'dist/bin', p)], takesCli: false },
};
/**
 * V8 levers: NODE_OPTIONS takes only the heap-size flags (Node refuses --lite-mode and
 * --optimize-for-size there), so those two go on node's command line and are measured from source
 * only; the executable would need them baked in (sea-config execArgv).
 */
const levers: Record<string, { nodeOptions: string; cli?: string[] }> = {
  none: { nodeOptions: '' },
  'max-semi-space-size=1': { nodeOptions: '--max-semi-space-size=1' },
  'max-old-space-size=48': { nodeOptions: '--max-old-space-size=48' },
  'semi 1 + old 48': { nodeOptions: '--max-semi-space-size=1 --max-old-space-size=48' },
  'semi 1 + old 48 + lite-mode (cli)': {
    nodeOptions: '--max-semi-space-size=1 --max-old-space-size=48',
    cli: ['--lite-mode'],
  },
  'optimize-for-size (cli)': { nodeOptions: '', cli: ['--optimize-for-size'] },
  // interpreter and Sparkplug only: no optimizing compiler runs, so its code pages stay untouched
  // interpreter only: no compiler tier runs (and no WebAssembly, which fetch's parser would need)
  'semi 1 + jitless (cli)': { nodeOptions: '--max-semi-space-size=1', cli: ['--jitless'] },
  'semi 1 + no-opt + no-maglev (cli)': { nodeOptions: '--max-semi-space-size=1', cli: ['--no-opt', '--no-maglev'] },
};

/** VmRSS and its anonymous part (RssAnon: heaps and V8's code; the rest is mostly the mapped binary), MiB. */
function rssMiB(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

/** RSS_SMAPS=1: resident MiB per mapped file (or [anon]/[heap]) from /proc/<pid>/smaps, largest first. */
function mappings(pid: number): string {
  const by = new Map<string, { rss: number; anon: number }>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = `${head[2] || '[anon]'} ${head[1]}`;
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const e = by.get(name) ?? { rss: 0, anon: 0 };
    if (m[1] === 'Rss') e.rss += Number(m[2]) / 1024;
    else e.anon += Number(m[2]) / 1024;
    by.set(name, e);
  }
  return [...by]
    .filter(([, e]) => e.rss >= 0.5)
    .sort((a, b) => b[1].rss - a[1].rss)
    .map(([n, e]) => `\n  ${e.rss.toFixed(1)} MiB (anon ${e.anon.toFixed(1)}) ${n}`)
    .join('');
}

/** /proc/<pid>/stat: parent pid and start time (clock ticks since boot), after the (comm) field. */
function procStat(pid: number | string): { ppid: number; startTicks: number; comm: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(f[1]), startTicks: Number(f[19]) };
  } catch {
    return undefined;
  }
}

/** ms from boot's process start to its etcd child's (USER_HZ 100: 10 ms resolution). */
function spawnToEtcdMs(bootPid: number): number | undefined {
  const boot = procStat(bootPid);
  if (!boot) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const st = procStat(pid);
    if (st?.ppid === bootPid && st.comm === 'etcd') return (st.startTicks - boot.startTicks) * 10;
  }
  return undefined;
}

async function ready(what: string, p: TestProcess, url: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      if (!p.running()) throw new GiveUp(`${what}: exited: ${p.log().slice(-2000)}`);
      try {
        return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    },
    90_000,
    250,
  );
}

/**
 * Drops `files` from the page cache (coreutils dd, `iflag=nocache count=0`), as on a container start
 * where the image's files come from disk. A just-built executable sits wholly in the page cache, and
 * the kernel's fault-around then maps up to 16 neighbouring cached pages on each fault: the same
 * executable measured ~14 MiB more VmRSS per process (RssFile) fresh from the build than dropped
 * (2026-11-30). RSS_KEEP_CACHE=1 skips this.
 */
function dropPageCache(files: string[]): void {
  if (process.env.RSS_KEEP_CACHE) return;
  for (const f of files) execFileSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/** One case: discovery + boot under `launcher` with NODE_OPTIONS; their RSS once steady. */
async function measure(launcher: (p: 'boot' | 'discovery') => string[], nodeOptions: string) {
  const dir = tempDir('deis-etcd-rss-');
  const token = `t${Math.random().toString(16).slice(2)}`;
  const dHost = await freeAddress([2381, 2382, 8081]);
  const bHost = await freeAddress([2379, 2380, 2381, 8080]);
  const base = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_OPTIONS: `${nodeOptions} ${process.env.RSS_EXTRA_OPTIONS ?? ''}`.trim(),
    DEIS_ETCD_CLUSTER_SIZE: '1',
    DEIS_ETCD_DISCOVERY_TOKEN: token,
    DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
  };
  const [dCmd, ...dArgs] = launcher('discovery');
  dropPageCache([...new Set([dCmd!, ...launcher('boot')].filter((a) => a.startsWith('/') && existsSync(a)))]);
  const disc = startProcess(`discovery-${dHost}`, dCmd!, dArgs, {
    env: { ...base, POD_IP: dHost, DEIS_ETCD_DATA_DIR: join(dir, 'discovery') },
    logDir: dir,
    group: true,
  });
  let boot: TestProcess | undefined;
  try {
    await ready('discovery', disc, `http://${dHost}:8081`);
    const [bCmd, ...bArgs] = launcher('boot');
    boot = startProcess(`boot-${bHost}`, bCmd!, bArgs, {
      env: {
        ...base,
        POD_NAME: 'rss-0',
        POD_IP: bHost,
        DEIS_ETCD_KUBERNETES: 'off',
        DEIS_ETCD_DISCOVERY_ENDPOINT: `http://${dHost}:2381`,
        DEIS_ETCD_DATA_DIR: join(dir, 'member'),
      },
      logDir: dir,
      group: true,
    });
    await ready('boot', boot, `http://${bHost}:8080`);
    const etcdMs = spawnToEtcdMs(boot.child.pid!);
    await new Promise((r) => setTimeout(r, settleMs));
    if (process.env.RSS_SMAPS)
      for (const [n, pid] of [
        ['boot', boot.child.pid!],
        ['discovery', disc.child.pid!],
      ] as const)
        console.log(n, mappings(pid));
    return { boot: rssMiB(boot.child.pid!), discovery: rssMiB(disc.child.pid!), etcdMs };
  } finally {
    await boot?.stop();
    await disc.stop();
  }
}

const chosen = (process.env.RSS_RUNTIMES ?? 'source,bundle,executable').split(',');
if (chosen.some((r) => r !== 'source') && !existsSync(join(root, 'dist/bin/boot')))
  execFileSync(node, [join(root, 'build/sea.ts')], { stdio: 'inherit' });
type Mem = { rss: number; anon: number };
const rows: { runtime: string; lever: string; boot: Mem; discovery: Mem; spawnToEtcdMs: number | undefined }[] = [];
const chosenLevers = process.env.RSS_LEVERS?.split(',');
for (const l of chosenLevers ?? [])
  if (!(l in levers)) throw new Error(`RSS_LEVERS: unknown lever ${l} (${Object.keys(levers).join(', ')})`);
for (const runtime of chosen) {
  const rt = runtimes[runtime];
  if (!rt) throw new Error(`RSS_RUNTIMES: unknown runtime ${runtime} (source, bundle, executable)`);
  for (const [lever, opts] of Object.entries(levers)) {
    if ((opts.cli && !rt.takesCli) || (chosenLevers && !chosenLevers.includes(lever))) continue;
    const boots: Mem[] = [];
    const discs: Mem[] = [];
    const etcdMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      try {
        const r = await measure((p) => rt.launch(p, opts.cli ?? []), opts.nodeOptions);
        boots.push(r.boot);
        discs.push(r.discovery);
        if (r.etcdMs !== undefined) etcdMs.push(r.etcdMs);
      } catch (err) {
        console.error(`${runtime} / ${lever}: failed: ${String(err).slice(0, 300)}`);
      }
    }
    if (!boots.length) continue;
    const median = (xs: Mem[]) => xs.sort((a, b) => a.rss - b.rss)[Math.floor((xs.length - 1) / 2)]!;
    const ms = etcdMs.sort((a, b) => a - b)[Math.floor((etcdMs.length - 1) / 2)];
    const row = { runtime, lever, boot: median(boots), discovery: median(discs), spawnToEtcdMs: ms };
    rows.push(row);
    console.error(
      `${runtime} / ${lever}: boot ${row.boot.rss.toFixed(0)} MiB, discovery ${row.discovery.rss.toFixed(0)} MiB, ` +
        `spawn to etcd ${ms ?? '?'} ms`,
    );
  }
}
const mark = (v: Mem, t: number) => `${v.rss.toFixed(0)}${v.rss <= t ? '' : ' (over)'}, anon ${v.anon.toFixed(0)}`;
const markMs = (v: number | undefined) => (v === undefined ? '?' : `${v}${v <= TARGET.spawnToEtcdMs ? '' : ' (over)'}`);
console.log(
  `| runtime | lever | boot RSS MiB (<= ${TARGET.boot}) | discovery RSS MiB (<= ${TARGET.discovery}) | ` +
    `boot spawn to etcd ms (<= ${TARGET.spawnToEtcdMs}) |`,
);
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.runtime} | ${r.lever} | ${mark(r.boot, TARGET.boot)} | ${mark(r.discovery, TARGET.discovery)} | ` +
      `${markMs(r.spawnToEtcdMs)} |`,
  );
mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = join(root, 'bench/results', `rss-${new Date().toISOString().replace(/[:.]/g, '')}.json`);
writeFileSync(out, `${JSON.stringify({ reps, settleMs, levers, rows }, null, 2)}\n`);
console.error(`written ${out}`);
