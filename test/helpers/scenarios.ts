// Operator scenarios that the plain (deis-etcd.test.ts) and secure (secure.test.ts) e2e files both
// walk: each injects its fault, waits for the cluster to heal, and checks that a key survived.
import * as assert from 'uvu/assert';
import { waitFor } from '../world/procs.ts';
import type { TestWorld } from '../world/world.ts';
import type { Members } from './members.ts';

/** A key written earlier and the value it must still have. */
export interface Kept {
  key: string;
  value: string;
}

/** SIGKILL a member's processes: the node agent restarts it, it rejoins from its data. */
export async function killAndRejoin(world: TestWorld, m: Members, ns: string, pod: string, kept: Kept): Promise<void> {
  world.faults.signal(ns, pod, 'SIGKILL');
  await waitFor(
    'restart counted',
    async () =>
      ((await m.pods()).find((p) => p.metadata!.name === pod)?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    30_000,
    250,
  );
  await m.converged(3);
  assert.is(await m.get(kept.key), kept.value);
}

/** Scale 3 -> 5 -> 3: membership follows the replicas. */
export async function scaleUpAndDown(world: TestWorld, m: Members, ns: string, kept: Kept): Promise<void> {
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 5);
  await m.converged(5);
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
  await m.converged(3);
  assert.is(await m.get(kept.key), kept.value);
}
