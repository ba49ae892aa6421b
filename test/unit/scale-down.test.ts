// Scale-down of any size: the pure next step (scaleDownStep), the leader's pass that removes leaving
// members one at a time without waiting for them, a leaver that waits for its removal, and a pod that
// is being scaled away never joining again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepare } from '../../internal/boot/act.ts';
import { leave } from '../../internal/boot/changes.ts';
import { scaleDownPass } from '../../internal/boot/heal.ts';
import { decide, type MemberView, type Observation } from '../../internal/membership/decide.ts';
import { scaleDownStep } from '../../internal/membership/scale.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { FakeKube } from '../fakes/kube.ts';
import { fakeBoot } from '../fakes/boot.ts';

const v = (i: number, over: Partial<MemberView> = {}): MemberView => ({
  id: `m${i}`,
  name: `etcd-${i}`,
  peerUrls: [],
  isLearner: false,
  healthy: true,
  ...over,
});

const rows: {
  name: string;
  members: MemberView[];
  leader: string;
  replicas: number;
  want: ReturnType<typeof scaleDownStep>;
}[] = [
  {
    name: 'nothing beyond the replicas: nothing to do',
    members: [v(0), v(1), v(2)],
    leader: 'm0',
    replicas: 3,
    want: undefined,
  },
  {
    name: '3 -> 0: ordinal 0 stays (the last member cannot remove itself), the highest goes first',
    members: [0, 1, 2].map((i) => v(i)),
    leader: 'm0',
    replicas: 0,
    want: { kind: 'remove', removal: { id: 'm2', name: 'etcd-2', why: 'scale-down' } },
  },
  {
    name: '3 -> 0 with ordinal 0 alone left: nothing to do',
    members: [v(0)],
    leader: 'm0',
    replicas: 0,
    want: undefined,
  },
  {
    name: '3 -> 0 led by a leaving member: leadership moves to ordinal 0',
    members: [0, 1, 2].map((i) => v(i)),
    leader: 'm1',
    replicas: 0,
    want: { kind: 'move-leader', to: 'm0' },
  },
  {
    name: '5 -> 1: the highest ordinal goes first',
    members: [0, 1, 2, 3, 4].map((i) => v(i)),
    leader: 'm0',
    replicas: 1,
    want: { kind: 'remove', removal: { id: 'm4', name: 'etcd-4', why: 'scale-down' } },
  },
  {
    name: 'a leaving leader hands leadership to a member that stays',
    members: [0, 1, 2].map((i) => v(i)),
    leader: 'm2',
    replicas: 1,
    want: { kind: 'move-leader', to: 'm0' },
  },
  {
    name: 'an unhealthy leaving member goes before healthy ones',
    members: [v(0), v(1), v(2), v(3, { healthy: false }), v(4)],
    leader: 'm0',
    replicas: 2,
    want: { kind: 'remove', removal: { id: 'm3', name: 'etcd-3', why: 'scale-down' } },
  },
  {
    name: 'a leaving learner goes first (never counts for quorum)',
    members: [v(0), v(1), v(2), v(3, { isLearner: true, healthy: false })],
    leader: 'm0',
    replicas: 1,
    want: { kind: 'remove', removal: { id: 'm3', name: 'etcd-3', why: 'scale-down' } },
  },
  {
    name: 'no removal that would lose quorum: 3 -> 1 with etcd-0 down waits',
    members: [v(0, { healthy: false }), v(1), v(2)],
    leader: 'm1',
    replicas: 1,
    want: undefined,
  },
  {
    name: "another StatefulSet's members are not ours to remove",
    members: [v(0), { ...v(5), name: 'other-5' }],
    leader: 'm0',
    replicas: 1,
    want: undefined,
  },
];
for (const r of rows)
  test(`step: ${r.name}`, () => assert.equal(scaleDownStep(r.members, r.leader, 'etcd', r.replicas), r.want));

test('step: repeated steps from 9 to 1 each keep a healthy majority and end with one voter', () => {
  let members = Array.from({ length: 9 }, (_, i) => v(i));
  let leader = 'm8';
  for (let guard = 0; guard < 20; guard++) {
    const step = scaleDownStep(members, leader, 'etcd', 1);
    if (!step) break;
    if (step.kind === 'move-leader') leader = step.to;
    else members = members.filter((m) => m.id !== step.removal.id);
  }
  assert.equal(
    members.map((m) => m.id),
    ['m0'],
  );
  assert.is(leader, 'm0');
});

const base: Observation = {
  self: { name: 'etcd-3', peerUrl: 'http://10.0.0.3:2380' },
  configuredSize: 3,
  data: { hasWal: false },
  discovery: { reachable: true, size: 3, registrations: [], heartbeats: [], clusterFormed: true },
  cluster: { reachable: true, clusterId: 'c', members: [v(0), v(1), v(2)] },
  pods: undefined,
  quietForMs: 0,
  rebuildGraceMs: 1,
};
test('decide: a pod being scaled away never joins, and never rejoins with data the cluster removed', () => {
  assert.is(decide({ ...base, scaledAway: true }).kind, 'wait');
  assert.is(decide({ ...base, scaledAway: true, data: { hasWal: true, markerMemberId: 'gone' } }).kind, 'wait');
  assert.is(decide({ ...base, scaledAway: false }).kind, 'join');
  assert.is(
    decide({ ...base, scaledAway: true, data: { hasWal: true, markerMemberId: 'm0' } }).kind,
    'restart',
    'a member still in the cluster restarts: it may be needed for quorum',
  );
});

const cluster5 = () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3, 4, 5]) c.addMember(n);
  return c;
};

test('leader pass: 5 -> 1 removes the four leaving members one per pass, highest ordinal first', async () => {
  const cluster = cluster5();
  const kube = FakeKube.withPods(5);
  kube.replicas = 1;
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  f.ctx.member.id = '1';
  const done: (string | undefined)[] = [];
  for (let i = 0; i < 6; i++) done.push(await scaleDownPass(f.ctx));
  assert.equal(done, ['remove 5', 'remove 4', 'remove 3', 'remove 2', undefined, undefined]);
  assert.equal(
    cluster.members.map((m) => m.name),
    ['etcd-0'],
  );
});

test('leader pass: even replicas work and are warned about once per change', async () => {
  const cluster = cluster5();
  const kube = FakeKube.withPods(5);
  kube.replicas = 4;
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  f.ctx.member.id = '1';
  const seen = {};
  assert.is(await scaleDownPass(f.ctx, seen), 'remove 5');
  assert.is(await scaleDownPass(f.ctx, seen), undefined);
  assert.equal(
    f.log.entries.filter((e) => String(e.msg).startsWith('even replicas')).map((e) => e.replicas),
    [4],
  );
});

test('leader pass: a follower does nothing; a leaving leader first moves leadership to a staying member', async () => {
  const cluster = cluster5();
  cluster.leader = '5';
  const kube = FakeKube.withPods(5);
  kube.replicas = 3;
  const follower = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  follower.ctx.member.id = '1';
  assert.is(await scaleDownPass(follower.ctx), undefined);
  const leader = await fakeBoot({ name: 'etcd-4', 'advertise-host': '127.0.0.5' }, { cluster, kube });
  leader.ctx.member.id = '5';
  assert.is(await scaleDownPass(leader.ctx), 'move-leader 1');
  assert.equal(cluster.calls, ['move-leader 1']);
});

test('leaver: keeps etcd serving until the leader has removed it, never removing itself', async () => {
  const cluster = cluster5();
  const kube = FakeKube.withPods(5);
  kube.replicas = 1;
  const f = await fakeBoot({ name: 'etcd-4', 'advertise-host': '127.0.0.5' }, { cluster, kube });
  f.ctx.member.id = '5';
  let polls = 0;
  f.clock.sleep = async () => {
    if (++polls === 3) cluster.members = cluster.members.filter((m) => m.id !== '5');
  };
  // removed, its etcd stops by itself
  await leave(f.ctx, () => cluster.members.some((m) => m.id === '5'));
  assert.equal(cluster.calls, [], 'no lock taken, no self-removal: the leader serializes removals');
  assert.is(polls, 3);
  // never removed: it stops at --leave-timeout and says so
  const g = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'leave-timeout': '5' }, { cluster, kube });
  g.ctx.member.id = '4';
  await leave(g.ctx, () => true);
  assert.ok(g.clock.sleeps.length >= 9, 'kept polling for its removal');
  assert.ok(
    g.log.messages().includes('stopping before this member was removed; the leader removes it once quorum allows'),
  );
});

test('scaled to 0, the last member stops at once with its data, without waiting for a removal', async () => {
  const cluster = new FakeCluster();
  cluster.addMember(1);
  const kube = FakeKube.withPods(1);
  kube.replicas = 0;
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  f.ctx.member.id = '1';
  await leave(f.ctx, () => true);
  assert.equal(cluster.calls, [], 'not removed');
  assert.is(f.clock.sleeps.length, 0, 'no wait for a removal');
  assert.ok(f.log.entries.some((e) => e.msg === 'stopping' && e.scaleDown === false && e.replicas === 0));
});

test('a pod being scaled away waits instead of joining', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2]) cluster.addMember(n);
  const kube = FakeKube.withPods(3);
  kube.replicas = 2;
  const f = await fakeBoot({ name: 'etcd-2', 'advertise-host': '127.0.0.3', 'wait-timeout': '3' }, { cluster, kube });
  await prepare(f.ctx).catch(() => undefined);
  assert.equal(cluster.calls, [], 'never added itself');
  assert.ok(f.log.entries.some((e) => e.msg === 'decided' && /scaled away/.test(String(e.reason))));
});

test.run();
