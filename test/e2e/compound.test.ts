// Compound faults on the test world: scale-downs of any size issued right after a scale-up, a
// majority lost at once (one pod forced) that heals through the quorum-loss recovery, a scale-down
// whose leavers cannot leave (quorum lost, recovered from the survivor's data), and a joining learner
// forced to stall that the join watchdog replaces; a leader cut off from its peers (nftables rules on
// the pods' loopback addresses, where the machine allows them) that catches up without a membership change. Each ends with exactly the replicas as
// started voters, no learner, no stale member, and the data written before the fault.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { members, type Members } from '../helpers/members.ts';
import { sleep, tempDir, waitFor, within } from '../world/procs.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
const set = 'deis-etcd';
let world: TestWorld;
let m: Members;

/** Log entries of a pod with a given msg. */
const said = async (pod: string, msg: string) => (await m.entries(pod)).filter((e) => e.msg === msg);

/** boot's own lines about quorum, recovery, joins and exits, for a failure message. */
async function recoveryLines(pod: string): Promise<string> {
  const keep = /quorum|recover|join|exit|start|stopp|decided|removed|promot|stall/;
  return (await m.entries(pod))
    .filter((e) => e.msg !== 'etcd' && keep.test(String(e.msg)))
    .map((e) => JSON.stringify(e).slice(0, 400))
    .join('\n');
}

/** Writes n keys prefix/0..n-1 through the Ready members. */
async function writeKeys(prefix: string, n: number): Promise<void> {
  await m.withClient(async (c) => {
    for (let i = 0; i < n; i++) await c.put(`${prefix}/${i}`).value(String(i)).exec();
  }, 20_000);
}
async function countKeys(prefix: string): Promise<number> {
  return m.withClient(async (c) => Object.keys(await c.getAll().prefix(`${prefix}/`).strings()).length, 20_000);
}

test.before(async () => {
  world = await startTestWorld();
  m = members(world, ns);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  await m.converged(3, { timeoutMs: 180_000 });
  await writeKeys('before', 50);
});
test.after(async () => {
  await world?.stop();
});

test('3 -> 5, then 1 as soon as the 5 are Ready, then back to 3: one voter in between, data intact', async () => {
  await world.faults.scaleStatefulSet(ns, set, 5);
  await m.converged(5);
  await world.faults.scaleStatefulSet(ns, set, 1);
  await m.converged(1, { timeoutMs: 120_000 });
  assert.is(await countKeys('before'), 50);
  const removed = (await said('deis-etcd-0', 'member removed')).map((e) => e.why);
  assert.ok(
    removed.every((w) => w === 'scale-down'),
    `removals by the survivor are scale-downs: ${removed.join()}`,
  );
  await world.faults.scaleStatefulSet(ns, set, 3);
  await m.converged(3);
  assert.is(await countKeys('before'), 50);
});

/** Back to 3 members, so that a failed test does not leave the next one a different cluster. */
async function threeMembers(): Promise<string> {
  await world.faults.scaleStatefulSet(ns, set, 3);
  return m.converged(3, { timeoutMs: 180_000 });
}

test('2 of 3 lost at once (one forced): the survivor recovers quorum, the replacements rejoin, data intact', async () => {
  const before = await threeMembers();
  await Promise.all([
    world.faults.deletePod(ns, 'deis-etcd-1'),
    world.core.deleteNamespacedPod({ name: 'deis-etcd-2', namespace: ns, body: { gracePeriodSeconds: 0 } }),
  ]);
  const after = await m.converged(3, { timeoutMs: 180_000 });
  assert.is(after, before, "the same cluster ID (recovered from the survivor's data, not rebuilt)");
  assert.is(await countKeys('before'), 50);
  const recovered = await said(
    'deis-etcd-0',
    "recovering quorum: restarting etcd from this member's data with --force-new-cluster",
  );
  assert.is(recovered.length, 1, `deis-etcd-0 forced a new cluster once: ${await recoveryLines('deis-etcd-0')}`);
  assert.equal([...(recovered[0]!.lost as string[])].sort(), ['deis-etcd-1', 'deis-etcd-2']);
});

test('quorum lost by a scale-down whose leavers could not leave: the survivor recovers with its data', async () => {
  await threeMembers();
  await writeKeys('scaled', 20);
  // paused, the leavers can neither answer nor leave: deis-etcd-0 loses quorum and cannot remove them;
  // they are killed after their grace period, gone for good (ordinal >= replicas)
  for (const pod of ['deis-etcd-1', 'deis-etcd-2']) world.faults.signal(ns, pod, 'SIGSTOP');
  await world.faults.scaleStatefulSet(ns, set, 1);
  await m.converged(1, { timeoutMs: 150_000 });
  const scaled = await countKeys('scaled').catch(async (err) => {
    throw new Error(`${String(err)}\n${await recoveryLines('deis-etcd-0')}`);
  });
  assert.is(scaled, 20, 'writes acknowledged by all three are on the survivor');
  assert.is(await countKeys('before'), 50);
  const recovered = await said(
    'deis-etcd-0',
    "recovering quorum: restarting etcd from this member's data with --force-new-cluster",
  );
  const last = recovered.at(-1);
  assert.ok(last && /scaled away/.test(String(last.reason)), `recovered: ${await recoveryLines('deis-etcd-0')}`);
  assert.equal([...(last!.lost as string[])].sort(), ['deis-etcd-1', 'deis-etcd-2']);
});

/** Runs fn with a client of the given endpoints only, retrying until it succeeds (bounded). */
async function through<T>(hosts: string[], what: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = new Etcd3({ hosts, dialTimeout: 2000 });
  try {
    return await waitFor(what, () => within(4000, what, fn(c)).catch(() => undefined), 40_000, 500);
  } finally {
    c.close();
  }
}

test('the leader cut off from its peers for 12 s: the others elect a leader and take writes, it catches up', async () => {
  const unsupported = world.faults.partitionSupport();
  if (unsupported) {
    console.log(`notice: partition test skipped: ${unsupported}`);
    return;
  }
  const id = await threeMembers();
  const ip = new Map((await m.pods()).map((p) => [p.metadata!.name!, `http://${p.status!.podIP}:2379`]));
  const { leader, ids } = await through([...ip.values()], 'the leader', async (c) => {
    const [st, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({})]);
    return { leader: list.members.find((x) => x.ID === st.leader)?.name, ids: list.members.map((x) => x.ID).sort() };
  });
  assert.ok(leader && ip.has(leader), `a leader among the pods: ${leader}`);
  const others = [...ip.keys()].filter((n) => n !== leader);
  const heal = await world.faults.partition(ns, leader!, others);
  try {
    const majority = others.map((n) => ip.get(n)!);
    await through(majority, 'writes through the majority', async (c) => {
      for (let i = 0; i < 10; i++) await c.put(`cut/${i}`).value(String(i)).exec();
      return true;
    });
    await sleep(12_000); // the partition's length (a fault duration, not a wait for a state)
  } finally {
    heal();
  }
  assert.is(await m.converged(3, { timeoutMs: 120_000 }), id, 'the same cluster');
  const caughtUp = await through([ip.get(leader!)!], 'a linearizable read on the cut member', async (c) =>
    Object.keys(await c.getAll().prefix('cut/').strings()).length === 10 ? true : undefined,
  );
  assert.ok(caughtUp, 'the cut member serves the writes made without it');
  const after = await through([...ip.values()], 'member list', async (c) =>
    (await c.cluster.memberList({})).members.map((x) => x.ID).sort(),
  );
  assert.equal(after, ids, 'no member removed or added');
  assert.is(await countKeys('before'), 50);
});

test('a joining learner that stalls (its first etcd paused at once) is removed and joins again', async () => {
  await threeMembers();
  const marker = join(tempDir(), 'stalled');
  const fixture = join(repoRoot, 'test/e2e/fixtures/stall-once-etcd.sh');
  // a rolling update replaces every member in turn (emptyDir: each joins anew); deis-etcd-1's first
  // etcd is paused, so its join makes no progress until the watchdog gives it up
  await world.kubectl([
    'set',
    'env',
    '-n',
    ns,
    `statefulset/${set}`,
    `DEIS_ETCD_ETCD_BINARY=${fixture}`,
    'STALL_ONCE_NAME=deis-etcd-1',
    `STALL_ONCE_MARKER=${marker}`,
  ]);
  await world.kubectl(['rollout', 'status', '-n', ns, `statefulset/${set}`, '--timeout=240s']);
  await m.converged(3, { timeoutMs: 60_000 });
  assert.ok(existsSync(marker), 'the paused etcd ran');
  const gaveUp = await said('deis-etcd-1', 'stalled join given up: learner removed, data moved aside; joining again');
  assert.is(gaveUp.length, 1, `the watchdog gave the paused join up once: ${await recoveryLines('deis-etcd-1')}`);
  assert.is(await countKeys('before'), 50);
});

test.run();
