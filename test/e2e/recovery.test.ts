// Harder recoveries on the test world: the leader's heal pass removes a member whose pod went away
// without leaving; a replacement started while the discovery service is down completes once it is
// back; a StatefulSet deleted without volumes and re-applied forms a new cluster through discovery
// (registry reset); a re-applied set on persistent volumes, whose pods all come back with new IPs,
// keeps its cluster ID and data because its peer URLs advertise DNS names (--peer-service); scaled to
// 0 and back, it resumes with its data (ordinal 0 is never removed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { waitFor } from '../world/procs.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;

/** Deletes the StatefulSet (its claims stay) and waits until its pods are gone. */
async function deleteStatefulSet(): Promise<void> {
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await m.gone();
}

test.before(async () => {
  world = await startTestWorld();
  m = members(world, ns);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  await m.converged(3, { timeoutMs: 180_000 });
  await m.withClient((c) => c.put('r/key').value('v').exec());
});
test.after(async () => {
  await world?.stop();
});

test("a member whose pod left without removing itself is removed by the leader's heal pass", async () => {
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 4);
  await m.converged(4);
  const list = await m.withClient((c) => c.cluster.memberList({ linearizable: true }));
  const leaving = list.members.find((x) => x.name === 'deis-etcd-3');
  assert.ok(leaving, 'deis-etcd-3 is a member');
  const stayers = async () =>
    (await m.pods())
      .filter((p) => p.metadata!.name !== 'deis-etcd-3')
      .map((p) => ({
        pod: p.metadata!.name!,
        uid: p.metadata!.uid,
        restarts: p.status?.containerStatuses?.[0]?.restartCount,
      }))
      .sort((x, y) => x.pod.localeCompare(y.pod));
  const before = await stayers();
  world.faults.signal(ns, 'deis-etcd-3', 'SIGSTOP'); // it cannot leave: SIGTERM goes unanswered, SIGKILL follows
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
  await m.converged(3);
  // none of the others booted meanwhile (same pods, no restarts), so no join removed it: a running
  // member's heal pass did, the only other code that logs 'member removed'
  assert.equal(await stayers(), before, 'the other members ran throughout');
  const removed = [];
  for (const { pod } of before) {
    for (const e of await m.entries(pod)) {
      if (e.msg === 'member removed') removed.push({ memberId: e.memberId, member: e.member, why: e.why });
    }
  }
  // why: pod-gone once its pod is gone; a heal pass that removes members beyond the replicas (main
  // since 79dc083) says scale-down. Either way a running member removed it, not the member itself.
  const id = BigInt(leaving.ID).toString(16);
  const got = removed.map((r) => `${String(r.member)} ${String(r.memberId)}`);
  assert.equal(got, [`deis-etcd-3 ${id}`], 'one removal, of deis-etcd-3, by a member that stays');
  assert.match(String(removed[0]!.why), /^(pod-gone|scale-down)$/);
});

test('a replacement started while discovery is down completes; no duplicate members', async () => {
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=0']);
  await waitFor(
    'discovery gone',
    async () =>
      (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=discovery' }))
        .items.length === 0,
    60_000,
    250,
  );
  await world.faults.deletePod(ns, 'deis-etcd-1');
  await m.converged(3);
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=1']);
  assert.is(await m.get('r/key'), 'v');
});

test('the StatefulSet deleted (no volumes) and re-applied: a new cluster forms through discovery', async () => {
  const before = await m.converged(3);
  await deleteStatefulSet();
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  const after = await m.converged(3, { timeoutMs: 180_000 });
  assert.is.not(after, before, 'a new cluster ID');
  assert.is(await m.get('r/key'), null, 'an empty new cluster (no volumes)');
});

test('with persistent volumes and DNS peer URLs, a deleted and re-applied StatefulSet keeps its cluster ID and data', async () => {
  const overlay = join(repoRoot, 'test/e2e/overlays/local-volumes');
  await deleteStatefulSet();
  await world.kubectl(['apply', '-k', overlay]);
  const id = await m.converged(3, { timeoutMs: 180_000, dns: true });
  await m.withClient((c) => c.put('r/persistent').value('kept').exec());
  const ipsBefore = (await m.pods()).map((p) => p.status!.podIP).sort();
  await deleteStatefulSet();
  await world.kubectl(['apply', '-k', overlay]);
  const after = await m.converged(3, { timeoutMs: 180_000, dns: true });
  assert.is.not(
    (await m.pods())
      .map((p) => p.status!.podIP)
      .sort()
      .join(),
    ipsBefore.join(),
    'every pod came back with a new IP',
  );
  assert.is(after, id, 'the same cluster ID');
  assert.is(await m.get('r/persistent'), 'kept');
});

test('scaled to 0 and back to 3 (persistent volumes): the last member stops with its data, the cluster resumes', async () => {
  const id = await m.converged(3, { dns: true });
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 0);
  await m.gone();
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
  assert.is(await m.converged(3, { timeoutMs: 180_000, dns: true }), id, 'the same cluster ID');
  assert.is(await m.get('r/persistent'), 'kept');
  const stops = (await m.entries('deis-etcd-0')).filter((e) => e.msg === 'stopping' && e.replicas === 0);
  assert.ok(stops.length > 0 && stops.every((e) => e.scaleDown === false), 'ordinal 0 was kept, not scaled away');
});

test.run();
