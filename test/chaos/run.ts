// `make chaos`: one chaos run on a fresh test world; prints the markdown tables and writes the JSON
// report to bench/results/chaos-<time>.json, the history beside it (chaos-<time>.history.json). Exit
// code 1 when a fault did not heal, an acknowledged write was lost or the history is not linearizable.
//
// Usage: node test/chaos/run.ts
// Env:   CHAOS_FAULTS (default 50), CHAOS_SEED (default: from the clock; printed), DEIS_ETCD_TEST_ETCD=3.7,
//        CHAOS_POD_NET (default 60: pods get 127.60.x.y, apart from the 127.10.x.y of `make up` and the e2e tests),
//        CHAOS_SLOW_HEAL_MS (default 60000: the members' logs are kept for a heal that takes longer),
//        CHAOS_OVERLAY (local: emptyDir data, the default; volumes: persistent volumes and DNS peer URLs,
//        which adds the fault "member pod deleted with its volume").
// The partition fault (one member cut off from its peers) runs where nftables rules can be made
// (root, the nft command); elsewhere it is skipped with a notice.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdVersion } from '../world/tools.ts';
import { repoRoot, startTestWorld } from '../world/world.ts';
import { runChaos } from './chaos.ts';
import { markdown, passed, report } from './report.ts';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, not ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const faults = envInt('CHAOS_FAULTS', 50, 1, 1000);
  const seed = envInt('CHAOS_SEED', Date.now() % 2 ** 31, 0, 2 ** 31 - 1);
  const etcd = etcdVersion();
  console.log(`chaos: ${faults} faults, seed ${seed}, etcd ${etcd}`);
  const podNet = envInt('CHAOS_POD_NET', 60, 11, 99);
  const slowHealMs = envInt('CHAOS_SLOW_HEAL_MS', 60_000, 0, 3_600_000);
  const overlays: Record<string, string> = {
    local: join(repoRoot, 'kustomize/overlays/local'),
    volumes: join(repoRoot, 'test/e2e/overlays/local-volumes'),
  };
  const overlayName = process.env.CHAOS_OVERLAY || 'local';
  const overlay = overlays[overlayName];
  if (!overlay) throw new Error(`CHAOS_OVERLAY must be one of ${Object.keys(overlays).join(', ')}, not ${overlayName}`);
  const world = await startTestWorld({ podNet });
  const noPartition = world.faults.partitionSupport();
  if (noPartition) console.log(`chaos: notice: the partition fault is skipped: ${noPartition}`);
  const kinds = { partition: !noPartition, volumes: overlayName === 'volumes' };
  console.log(`chaos: overlay ${overlayName}, partitions ${kinds.partition ? 'on' : 'off'}`);
  const started = new Date().toISOString();
  try {
    const logsDir = join(repoRoot, 'bench/results', `chaos-${started.replace(/[:.]/g, '-')}-logs`);
    const result = await runChaos(world, {
      faults,
      seed,
      overlay,
      kinds,
      dns: overlayName === 'volumes',
      logsDir,
      slowHealMs,
      log: (l) => console.log(l),
    });
    const at = new Date().toISOString();
    const rep = { ...report(result, etcd, at), overlay: overlayName, partitions: kinds.partition };
    const dir = join(repoRoot, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `chaos-${at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(rep, null, 2)}\n`);
    // the history in the checker's input format: build/tools/porcupine can check it again
    writeFileSync(file.replace(/\.json$/, '.history.json'), JSON.stringify({ ops: result.history }));
    console.log(`\n${markdown(rep)}\n\nreport: ${file}`);
    if (!passed(rep)) process.exitCode = 1;
  } finally {
    await world.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
