// Kubernetes Events on the test world: the local overlay's members report what they do through
// events.k8s.io/v1 under their Role (create/patch only), read back with the real kubectl as an
// operator would (`kubectl get events`, the core/v1 view of the same objects).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { waitFor } from '../world/procs.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;

interface CoreEvent {
  reason: string;
  message?: string;
  type: string;
  involvedObject: { kind: string; name: string };
  reportingComponent?: string;
  series?: { count: number };
  count?: number;
}

/** The namespace's Events through `kubectl get events -o json`. */
async function events(): Promise<CoreEvent[]> {
  return (JSON.parse(await world.kubectl(['get', 'events', '-n', ns, '-o', 'json'])) as { items: CoreEvent[] }).items;
}
const about = (evs: CoreEvent[], reason: string, name: string) =>
  evs.filter((e) => e.reason === reason && e.involvedObject.name === name);

/** Waits for an Event `reason` about object `name`; the error lists the Events seen. */
async function eventually(reason: string, name: string, timeoutMs = 60_000): Promise<CoreEvent> {
  let seen: CoreEvent[] = [];
  return waitFor(
    `Event ${reason} about ${name}`,
    async () => {
      seen = await events();
      return about(seen, reason, name)[0];
    },
    timeoutMs,
    500,
  ).catch(async (err: unknown) => {
    const list = seen.map((e) => `${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}`).join(', ');
    // what the members said about Events and membership changes (their kept logs, every incarnation)
    const said: string[] = [];
    for (const p of ['deis-etcd-0', 'deis-etcd-1', 'deis-etcd-2', 'deis-etcd-3']) {
      const entries = await m.entries(p).catch(() => []);
      for (const e of entries.filter((x) =>
        /Event|member (added|removed|promoted)|learner promoted/.test(String(x.msg)),
      ))
        said.push(`${p}: ${JSON.stringify(e)}`);
    }
    throw new Error(`${String(err)}; Events seen: ${list || 'none'}\n${said.slice(-30).join('\n')}`);
  });
}

test.before(async () => {
  world = await startTestWorld();
  m = members(world, ns);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  await m.converged(3, { timeoutMs: 180_000 });
});
test.after(async () => {
  await world?.stop();
});

test('a new cluster reports ClusterBootstrapped on the StatefulSet, once', async () => {
  const e = await eventually('ClusterBootstrapped', 'deis-etcd');
  assert.is(e.involvedObject.kind, 'StatefulSet');
  assert.is(e.type, 'Normal');
  assert.is(e.reportingComponent, 'deis-etcd.io/boot');
  assert.match(e.message ?? '', /formed through discovery/);
  assert.is(about(await events(), 'ClusterBootstrapped', 'deis-etcd').length, 1);
});

test('deleting a member pod: MemberRemoved (previous incarnation), MemberJoined, LearnerPromoted', async () => {
  await world.faults.deletePod(ns, 'deis-etcd-1');
  await m.converged(3, { timeoutMs: 120_000 });
  const removed = await eventually('MemberRemoved', 'deis-etcd-1');
  assert.match(removed.message ?? '', /\((previous-incarnation|pod-gone)\)$/);
  const joined = await eventually('MemberJoined', 'deis-etcd-1');
  assert.match(joined.message ?? '', /as a learner/);
  await eventually('LearnerPromoted', 'deis-etcd-1');
});

test('scale 3 -> 4 -> 3: the leaver gets MemberLeft (and MemberRemoved with why scale-down)', async () => {
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 4);
  await m.converged(4, { timeoutMs: 120_000 });
  await world.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
  await m.converged(3, { timeoutMs: 120_000 });
  const left = await eventually('MemberLeft', 'deis-etcd-3');
  assert.match(left.message ?? '', /scaled to 3/);
  const removed = about(await events(), 'MemberRemoved', 'deis-etcd-3');
  assert.ok(
    removed.some((e) => /\(scale-down\)$/.test(e.message ?? '')),
    removed.map((e) => e.message).join('; '),
  );
});

test('the members never needed more than create/patch on events (no write was refused)', async () => {
  for (const p of await m.pods()) {
    const refused = (await m.entries(p.metadata!.name!)).filter((e) =>
      String(e.msg).startsWith('cannot write a Kubernetes Event'),
    );
    assert.equal(refused, [], `${p.metadata!.name} could not write an Event`);
  }
});

test.run();
