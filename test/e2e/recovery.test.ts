// Harder recoveries on the test world: the leader's heal pass removes a member whose pod went away
// without leaving; a replacement started while the discovery service is down completes once it is
// back; a StatefulSet deleted without volumes and re-applied forms a new cluster through discovery
// (registry reset); a re-applied set on persistent volumes, whose pods all come back with new IPs,
// keeps its cluster ID and data because its peer URLs advertise DNS names (--peer-service).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';
import { waitFor, within } from '../world/procs.ts';

const ns = 'deis-etcd';
let world: TestWorld;

const memberPods = async () => (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=member' })).items.filter((p) => !p.metadata?.deletionTimestamp);
const isReady = (p: { status?: { conditions?: { type: string; status: string }[] } }) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function withClient<T>(fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const pods = (await memberPods()).filter(isReady);
  const c = new Etcd3({ hosts: pods.map((p) => `http://${p.status!.podIP}:2379`), dialTimeout: 2000 });
  try { return await within(8000, 'etcd call', fn(c)); } finally { c.close(); }
}

/** Waits for n Ready member pods that are exactly the members, at their pod IPs (or DNS names). */
async function converged(n: number, timeoutMs = 150_000, dns = false): Promise<string> {
  let last = '';
  return waitFor(`${n} ready members matching the pods`, async () => {
    const pods = await memberPods();
    if (pods.length !== n || !pods.every(isReady)) { last = pods.map((p) => `${p.metadata!.name}:${isReady(p)}`).join(' '); return false; }
    const want = pods.map((p) => `${p.metadata!.name}=http://${dns ? `${p.metadata!.name}.deis-etcd-peers.${ns}.svc.cluster.local` : p.status!.podIP}:2380`).sort();
    const r = await withClient((c) => c.cluster.memberList({ linearizable: true }));
    const got = r.members.map((m) => `${m.name}=${m.peerURLs.join(',')}${m.isLearner ? '(learner)' : ''}`).sort();
    last = got.join(' ');
    return JSON.stringify(want) === JSON.stringify(got) ? r.header.cluster_id : false;
  }, timeoutMs, 500).catch(async (err) => {
    const logs = await Promise.all((await memberPods()).map(async (p) => `--- ${p.metadata!.name}\n${(await world.agent.logs(ns, p.metadata!.name!)).split('\n').filter((l) => !l.includes('"msg":"etcd"')).slice(-6).join('\n')}`));
    throw new Error(`${String(err)}; last: ${last}\n${logs.join('\n')}`);
  });
}

test.before(async () => {
  world = await startTestWorld();
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  await converged(3, 180_000);
  await withClient((c) => c.put('r/key').value('v').exec());
});
test.after(async () => {
  await world?.stop();
});

test('a member whose pod left without removing itself is removed by the leader\'s heal pass', async () => {
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 4);
  await converged(4);
  world.faults.signal(ns, 'deis-etcd-3', 'SIGSTOP'); // it cannot leave: SIGTERM goes unanswered, SIGKILL follows
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
  await converged(3);
});

test('a replacement started while discovery is down completes; no duplicate members', async () => {
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=0']);
  await waitFor('discovery gone', async () => (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=discovery' })).items.length === 0, 60_000, 250);
  await world.faults.deletePod(ns, 'deis-etcd-1');
  await converged(3);
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=1']);
  assert.is(await withClient((c) => c.get('r/key').string()), 'v');
});

test('the StatefulSet deleted (no volumes) and re-applied: a new cluster forms through discovery', async () => {
  const before = await converged(3);
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await waitFor('member pods gone', async () => (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=member' })).items.length === 0, 120_000, 500);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  const after = await converged(3, 180_000);
  assert.is.not(after, before, 'a new cluster ID');
  assert.is(await withClient((c) => c.get('r/key').string()), null, 'an empty new cluster (no volumes)');
});

test('with persistent volumes and DNS peer URLs, a deleted and re-applied StatefulSet keeps its cluster ID and data', async () => {
  const overlay = join(repoRoot, 'test/e2e/overlays/local-volumes');
  const gone = () => waitFor('member pods gone', async () => (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=member' })).items.length === 0, 120_000, 500);
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await gone();
  await world.kubectl(['apply', '-k', overlay]);
  const id = await converged(3, 180_000, true);
  await withClient((c) => c.put('r/persistent').value('kept').exec());
  const ipsBefore = (await memberPods()).map((p) => p.status!.podIP).sort();
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await gone();
  await world.kubectl(['apply', '-k', overlay]);
  const after = await converged(3, 180_000, true);
  assert.is.not((await memberPods()).map((p) => p.status!.podIP).sort().join(), ipsBefore.join(), 'every pod came back with a new IP');
  assert.is(after, id, 'the same cluster ID');
  assert.is(await withClient((c) => c.get('r/persistent').string()), 'kept');
});

test.run();
