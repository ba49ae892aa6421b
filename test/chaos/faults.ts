// The chaos suite's faults: a seeded picker that only chooses faults within the product's promise
// (at most a minority of the members down at once; member faults only while there are 3 or more;
// scale changes are explicit and may go anywhere in 1..5), the injection through the node agent's
// fault API, and the wait until the cluster healed: the replicas as started voters, no learner, no
// stale member (members().converged), every member's endpoint answering a linearizable read, and
// the discovery pod Ready.
import type { Members } from '../helpers/members.ts';
import { isReady, type TestWorld } from '../world/world.ts';
import { client } from './workload.ts';
import { sleep } from '../world/procs.ts';

export type FaultKind =
  | 'delete-pod'
  | 'force-delete-pod'
  | 'kill-boot'
  | 'kill-etcd'
  | 'pause'
  | 'delete-discovery'
  | 'minority-loss'
  | 'partition'
  | 'delete-with-volume'
  | 'scale';

export interface Fault {
  kind: FaultKind;
  /** the member pods hit (none for scale and discovery faults) */
  pods: string[];
  /** replicas before and after (they differ only for scale) */
  from: number;
  to: number;
  /** how long a pause lasts before SIGCONT, or a partition before it heals */
  pauseMs?: number;
}

/** The faults this run may choose beyond the always-possible ones. */
export interface FaultOptions {
  /** one member cut off from its peers (needs nftables: Faults.partitionSupport) */
  partition: boolean;
  /** a member pod deleted with its volume (persistent-volume overlays only) */
  volumes: boolean;
}

export interface FaultResult extends Fault {
  at: string;
  healed: boolean;
  /** from the injection to healed (or to giving up) */
  healMs: number;
  error?: string;
  /** where the members' logs were kept after a slow or failed heal */
  logs?: string;
}

const ns = 'deis-etcd';
const set = 'deis-etcd';
const discoverySelector = 'app.kubernetes.io/component=discovery';
const memberSelector = 'app.kubernetes.io/component=member';

/** A seeded random number generator (mulberry32): the same seed picks the same faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const memberKinds: FaultKind[] = ['delete-pod', 'force-delete-pod', 'kill-boot', 'kill-etcd', 'pause', 'minority-loss'];

/**
 * Picks the next fault for a set of `replicas` members (pods deis-etcd-0..replicas-1). Member faults
 * need 3 or more members (one of 3 is a minority; one of 1 or 2 is not); a minority loss takes
 * floor((n-1)/2) members at once. Pure: the random source is passed in.
 */
export function pickFault(replicas: number, random: () => number, opts: FaultOptions): Fault {
  const int = (n: number) => Math.floor(random() * n);
  const member: FaultKind[] = [
    ...memberKinds,
    ...(opts.partition ? (['partition'] as const) : []),
    ...(opts.volumes ? (['delete-with-volume'] as const) : []),
  ];
  const kinds: FaultKind[] = ['delete-discovery', 'scale', ...(replicas >= 3 ? member : [])];
  const kind = kinds[int(kinds.length)]!;
  const pods = Array.from({ length: replicas }, (_, i) => `${set}-${i}`);
  const one = () => [pods[int(pods.length)]!];
  switch (kind) {
    case 'scale': {
      const others = [1, 2, 3, 4, 5].filter((n) => n !== replicas);
      return { kind, pods: [], from: replicas, to: others[int(others.length)]! };
    }
    case 'delete-discovery':
      return { kind, pods: [], from: replicas, to: replicas };
    case 'minority-loss': {
      const k = Math.floor((replicas - 1) / 2);
      const shuffled = [...pods].sort(() => random() - 0.5);
      return { kind, pods: shuffled.slice(0, k).sort(), from: replicas, to: replicas };
    }
    case 'pause':
      return { kind, pods: one(), from: replicas, to: replicas, pauseMs: 2000 + int(3000) };
    case 'partition':
      // up to 12 s: longer than an election, shorter than the quorum-loss grace of the local overlay
      return { kind, pods: one(), from: replicas, to: replicas, pauseMs: 3000 + int(9000) };
    case 'delete-with-volume':
    case 'delete-pod':
    case 'force-delete-pod':
    case 'kill-boot':
    case 'kill-etcd':
      return { kind, pods: one(), from: replicas, to: replicas };
    default: {
      const never: never = kind;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}

/** What a member pod looks like now, to see that a fault took effect. */
async function podState(world: TestWorld, pod: string): Promise<string> {
  try {
    const p = await world.core.readNamespacedPod({ name: pod, namespace: ns });
    return `${p.metadata?.uid}:${p.status?.containerStatuses?.[0]?.restartCount}:${isReady(p)}`;
  } catch {
    return 'absent';
  }
}

/**
 * Injects the fault; resolves once it is in (a pause: after SIGCONT). A member fault then waits,
 * at most 5 s, until the pods hit show it (not Ready, restarted or replaced), so that the heal wait
 * cannot see the cluster as it was before the fault.
 */
export async function inject(world: TestWorld, f: Fault, random: () => number): Promise<void> {
  const before = await Promise.all(f.pods.map((p) => podState(world, p)));
  switch (f.kind) {
    case 'scale':
      await world.faults.scaleStatefulSet(ns, set, f.to);
      return;
    case 'delete-discovery': {
      const ps = (await world.core.listNamespacedPod({ namespace: ns, labelSelector: discoverySelector })).items;
      await Promise.all(ps.map((p) => world.faults.deletePod(ns, p.metadata!.name!)));
      return;
    }
    case 'delete-pod':
      await world.faults.deletePod(ns, f.pods[0]!);
      break;
    case 'force-delete-pod':
      await world.faults.forceDeletePod(ns, f.pods[0]!);
      break;
    case 'kill-boot':
      world.faults.signalProcess(ns, f.pods[0]!, 'main', 'SIGKILL');
      break;
    case 'kill-etcd':
      world.faults.signalProcess(ns, f.pods[0]!, 'etcd', 'SIGKILL');
      break;
    case 'pause':
      world.faults.signal(ns, f.pods[0]!, 'SIGSTOP');
      await sleep(f.pauseMs ?? 3000);
      try {
        world.faults.signal(ns, f.pods[0]!, 'SIGCONT');
      } catch {
        /* restarted meanwhile */
      }
      return;
    case 'partition': {
      const others = (await world.core.listNamespacedPod({ namespace: ns, labelSelector: memberSelector })).items
        .map((p) => p.metadata!.name!)
        .filter((name) => name !== f.pods[0]);
      const heal = await world.faults.partition(ns, f.pods[0]!, others);
      try {
        await sleep(f.pauseMs ?? 5000);
      } finally {
        heal();
      }
      return;
    }
    case 'delete-with-volume':
      await world.faults.deletePodAndVolumes(ns, f.pods[0]!);
      break;
    case 'minority-loss':
      // each member graceful or forced, at once
      await Promise.all(
        f.pods.map((p) => (random() < 0.5 ? world.faults.deletePod(ns, p) : world.faults.forceDeletePod(ns, p))),
      );
      break;
    default: {
      const never: never = f.kind;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
  for (let i = 0; i < 20; i++) {
    const now = await Promise.all(f.pods.map((p) => podState(world, p)));
    if (now.every((s, j) => s !== before[j] || s.endsWith(':false'))) return;
    await sleep(250);
  }
}

/** Every member pod's own endpoint answers a linearizable read within 3 s. */
async function endpointsHealthy(m: Members): Promise<boolean> {
  const ps = await m.pods();
  const answers = await Promise.all(
    ps.map(async (p) => {
      const c = client([`http://${p.status!.podIP}:2379`]);
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, r) => {
          timer = setTimeout(() => r(new Error('timeout')), 3000);
        });
        await Promise.race([c.get('chaos-health').string(), timeout]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
        c.close();
      }
    }),
  );
  return answers.every(Boolean);
}

async function discoveryReady(world: TestWorld): Promise<boolean> {
  const ps = (await world.core.listNamespacedPod({ namespace: ns, labelSelector: discoverySelector })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  return ps.length === 1 && isReady(ps[0]!);
}

/**
 * Waits until `replicas` members converged (`dns`: their peer URLs name the pods under the headless
 * Service), every endpoint answers and discovery is Ready, within
 * timeoutMs; rejects with the last state seen.
 */
export async function waitHealed(
  world: TestWorld,
  m: Members,
  replicas: number,
  timeoutMs: number,
  dns = false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    await m.converged(replicas, { timeoutMs: Math.max(1000, deadline - Date.now()), dns });
    if (!(await endpointsHealthy(m))) last = 'an endpoint did not answer a linearizable read';
    else if (!(await discoveryReady(world))) last = 'the discovery pod is not Ready';
    else return;
    await sleep(500);
  }
  throw new Error(`not healed within ${timeoutMs} ms: ${last}`);
}
