// Quorum-loss recovery: the pure rule (only when the lost voters were scaled away, after the grace,
// by the most up-to-date survivor) and the running member's check over a fake cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { quorumRecovery, type QuorumInput, type VoterView } from '../../internal/membership/recover.ts';
import { checkQuorum } from '../../internal/boot/recover.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { FakeKube } from '../fakes/kube.ts';
import { fakeBoot } from '../fakes/boot.ts';

const v = (i: number, reachable: boolean, raftIndex = 10): VoterView => ({
  id: `m${i}`,
  name: `etcd-${i}`,
  reachable,
  raftIndex: reachable ? raftIndex : 0,
});
const base: QuorumInput = {
  me: 'm0',
  voters: [v(0, true), v(1, false), v(2, false)],
  set: 'etcd',
  replicas: 1,
  lostForMs: 60_000,
  graceMs: 60_000,
  autoRecover: true,
};

const rows: { name: string; input: Partial<QuorumInput>; want: string }[] = [
  { name: '3 -> 1, both others scaled away, grace passed: recover', input: {}, want: 'recover' },
  { name: 'within the grace period: wait', input: { lostForMs: 59_000 }, want: 'wait:grace' },
  {
    name: '--auto-recover=false: wait and say so',
    input: { autoRecover: false },
    want: 'wait:automatic recovery is off',
  },
  {
    name: 'a lost voter within the replicas may come back (its volume may hold data): never recover',
    input: { replicas: 2 },
    want: 'wait:etcd-1 may come back',
  },
  {
    name: '2 of 3 lost at once, both pods back without data (emptyDir): recover',
    input: { replicas: 3, voters: [v(0, true), { ...v(1, false), noData: true }, { ...v(2, false), noData: true }] },
    want: 'recover',
  },
  {
    name: 'one lost pod back without data, the other may still return with its data: wait',
    input: { replicas: 3, voters: [v(0, true), { ...v(1, false), noData: true }, v(2, false)] },
    want: 'wait:etcd-2 may come back',
  },
  {
    name: 'without the StatefulSet nothing can be told: wait',
    input: { set: undefined, replicas: undefined },
    want: 'wait:cannot be told',
  },
  {
    name: 'a majority still answers: quorum returns by itself',
    input: { voters: [v(0, true), v(1, true), v(2, false)] },
    want: 'wait:by itself',
  },
  {
    name: 'the most up-to-date survivor recovers, not me',
    input: { voters: [v(0, true, 10), v(1, true, 12), v(2, false), v(3, false), v(4, false)] },
    want: 'wait:etcd-1 is the most up-to-date',
  },
  {
    name: 'a tie goes to the lowest ID',
    input: { voters: [v(0, true, 12), v(1, true, 12), v(2, false), v(3, false), v(4, false)] },
    want: 'recover',
  },
];
for (const r of rows) {
  test(r.name, () => {
    const p = quorumRecovery({ ...base, ...r.input });
    const [kind, text] = r.want.split(':');
    assert.is(p.kind, kind);
    if (text) assert.ok(p.reason.includes(text), p.reason);
    if (p.kind === 'recover')
      assert.equal(
        p.lost,
        (r.input.voters ?? base.voters).filter((x) => !x.reachable).map((x) => x.name),
      );
  });
}

test('check: a survivor of 5 -> 1 whose four leavers died first waits the grace, then recovers', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3, 4, 5]) cluster.addMember(n, { healthy: n === 1 });
  const kube = FakeKube.withPods(1);
  kube.replicas = 1;
  const f = await fakeBoot(
    { name: 'etcd-0', 'advertise-host': '127.0.0.1', 'quorum-loss-grace': '60' },
    { cluster, kube },
  );
  f.ctx.member.id = '1';
  const state = { lostSince: undefined, said: '' };
  assert.equal(await checkQuorum(f.ctx, state), { kind: 'wait' });
  f.clock.advance(61_000);
  const got = await checkQuorum(f.ctx, state);
  assert.is(got.kind, 'recover');
  assert.equal(got.kind === 'recover' && got.lost, ['etcd-1', 'etcd-2', 'etcd-3', 'etcd-4']);
});

test('check: 2 of 3 lost at once with emptyDir: the replacements announce no data, the survivor recovers', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n, { healthy: n === 1 });
  const f = await fakeBoot(
    { name: 'etcd-0', 'advertise-host': '127.0.0.1', 'quorum-loss-grace': '10' },
    { cluster, kube: FakeKube.withPods(3) },
  );
  f.ctx.member.id = '1';
  const state = { lostSince: undefined, said: '' };
  await checkQuorum(f.ctx, state);
  f.clock.advance(11_000);
  assert.equal(await checkQuorum(f.ctx, state), { kind: 'wait' }, 'no announcement yet: they may come back with data');
  for (const name of ['etcd-1', 'etcd-2']) await f.ctx.registry!.announceNoData(name, () => new Date());
  const got = await checkQuorum(f.ctx, state);
  assert.equal(got.kind === 'recover' && got.lost, ['etcd-1', 'etcd-2']);
});

test('check: a plain outage (pods within the replicas) never recovers, and says why once', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n, { healthy: n === 1 });
  const f = await fakeBoot(
    { name: 'etcd-0', 'advertise-host': '127.0.0.1', 'quorum-loss-grace': '1' },
    { cluster, kube: FakeKube.withPods(3) },
  );
  f.ctx.member.id = '1';
  const state = { lostSince: undefined, said: '' };
  await checkQuorum(f.ctx, state);
  for (let i = 0; i < 3; i++) {
    f.clock.advance(5000);
    assert.equal(await checkQuorum(f.ctx, state), { kind: 'wait' });
  }
  assert.is(f.log.entries.filter((e) => e.msg === 'no quorum').length, 1);
  cluster.members[1]!.healthy = true;
  assert.equal(await checkQuorum(f.ctx, state), { kind: 'ok' });
  assert.ok(f.log.messages().includes('quorum is back'));
});

test.run();
