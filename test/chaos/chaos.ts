// One chaos run on a started test world: deploy the local overlay (3 members), start the workload,
// inject `faults` seeded faults one after another, each followed by the wait until healed, then
// stop the workload, read every acknowledged write back and check the history with porcupine. The
// result is what the report prints and the e2e test asserts on. Every wait is bounded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { members } from '../helpers/members.ts';
import { repoRoot, type TestWorld } from '../world/world.ts';
import { checkLinearizable, readBack, type Verdict } from './check.ts';
import { inject, pickFault, seeded, waitHealed, type Fault, type FaultOptions, type FaultResult } from './faults.ts';
import { startWorkload, type Op } from './workload.ts';
import { sleep } from '../world/procs.ts';

export interface ChaosOptions {
  faults: number;
  seed: number;
  /** the overlay deployed (default kustomize/overlays/local: emptyDir data) */
  overlay?: string;
  /** the faults beyond the always-possible ones (default: none) */
  kinds?: Partial<FaultOptions>;
  /** the overlay's members advertise DNS peer URLs (--peer-service), not pod IPs */
  dns?: boolean;
  /** the longest wait for one heal */
  healTimeoutMs?: number;
  /**
   * Where to keep the logs of every member and discovery incarnation when a heal takes longer than
   * slowHealMs or fails (the world's own copies go with its temp dir); none kept without it.
   */
  logsDir?: string;
  slowHealMs?: number;
  /** progress lines (one per fault) */
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  faultsRequested: number;
  faults: FaultResult[];
  ops: { total: number; puts: number; gets: number; acked: number; failed: number; unknown: number };
  ackedWritesLost: number;
  lost: { key: string; want: string; got: string | null }[];
  verdict: Verdict;
  durationMs: number;
  /** why the run stopped early, if it did (a fault that did not heal) */
  stoppedEarly?: string;
  /** why the acknowledged writes could not be read back (then ackedWritesLost tells nothing) */
  readBackError?: string;
  /** every recorded operation and the read-back, as porcupine checked them */
  history: Op[];
}

/** Copies the logs of every member pod name (all incarnations) and of the discovery pods into dir. */
async function keepLogs(world: TestWorld, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const discovery = await world.core.listNamespacedPod({ namespace: ns, labelSelector: discoverySelector });
  const names = [
    ...Array.from({ length: 5 }, (_, n) => `deis-etcd-${n}`),
    ...discovery.items.map((p) => p.metadata!.name!),
  ];
  for (const pod of names) {
    const text = await world.agent.logs(ns, pod).catch(() => '');
    if (text) writeFileSync(join(dir, `${pod}.log`), text);
  }
  return dir;
}

/** What a fault hit, for the progress line. */
const target = (f: Fault) => (f.kind === 'scale' ? `${f.from}->${f.to}` : f.pods.join(',') || 'discovery');

const ns = 'deis-etcd';
const discoverySelector = 'app.kubernetes.io/component=discovery';

export async function runChaos(world: TestWorld, opts: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const healTimeoutMs = opts.healTimeoutMs ?? 180_000;
  const random = seeded(opts.seed);
  const m = members(world, ns);
  await world.kubectl(['apply', '-k', opts.overlay ?? join(repoRoot, 'kustomize/overlays/local')]);
  await waitHealed(world, m, 3, 180_000, opts.dns);
  const kinds: FaultOptions = { partition: false, volumes: false, ...opts.kinds };

  const prefix = `chaos/${opts.seed}`;
  const workload = startWorkload(m, {
    prefix,
    random: seeded(opts.seed ^ 0x5eed),
    clients: 3,
    pauseMs: 100,
    opTimeoutMs: 5000,
  });
  const results: FaultResult[] = [];
  let replicas = 3;
  let stoppedEarly: string | undefined;
  try {
    await sleep(2000);
    for (let i = 0; i < opts.faults; i++) {
      const f = pickFault(replicas, random, kinds);
      const at = new Date().toISOString();
      const t = performance.now();
      let error: string | undefined;
      try {
        await inject(world, f, random);
        await waitHealed(world, m, f.to, healTimeoutMs, opts.dns);
      } catch (err) {
        error = String(err).slice(0, 2000);
      }
      const r: FaultResult = {
        ...f,
        at,
        healed: !error,
        healMs: Math.round(performance.now() - t),
        ...(error ? { error } : {}),
      };
      results.push(r);
      if (opts.logsDir && (error || r.healMs > (opts.slowHealMs ?? 60_000))) {
        r.logs = await keepLogs(world, join(opts.logsDir, `fault-${i + 1}`)).catch((e: unknown) => String(e));
      }
      replicas = f.to;
      log(
        `fault ${i + 1}/${opts.faults}: ${f.kind} ${target(f)}: ` +
          (r.healed ? `healed in ${r.healMs} ms` : `NOT healed: ${error!.split('\n')[0]}`),
      );
      if (error) {
        stoppedEarly = `fault ${i + 1} (${f.kind}) did not heal`;
        break;
      }
      await sleep(1000 + Math.floor(random() * 2000)); // some traffic between faults
    }
  } finally {
    await workload.stop();
  }

  const history = workload.ops;
  // after a fault that did not heal the read-back may fail too: the history is still checked
  let readBackError: string | undefined;
  const back = await readBack(m, prefix, history, workload.now).catch((err: unknown) => {
    readBackError = String(err).slice(0, 2000);
    return { lost: [], reads: [] };
  });
  const full = [...history, ...back.reads];
  const verdict = await checkLinearizable(full);
  const puts = history.filter((o) => o.input.op === 'put');
  return {
    seed: opts.seed,
    faultsRequested: opts.faults,
    faults: results,
    ops: {
      total: history.length,
      puts: puts.length,
      gets: history.length - puts.length,
      acked: history.filter((o) => o.output.ok).length,
      failed: history.filter((o) => !o.output.ok && !o.output.unknown).length,
      unknown: history.filter((o) => o.output.unknown).length,
    },
    ackedWritesLost: back.lost.length,
    lost: back.lost.slice(0, 20),
    verdict,
    history: full,
    durationMs: Date.now() - started,
    ...(stoppedEarly ? { stoppedEarly } : {}),
    ...(readBackError ? { readBackError } : {}),
  };
}
