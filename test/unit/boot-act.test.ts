// The boot runner's parts driven through fakes: each plan's handler, joining under the lock, the heal
// pass, leaving on a scale-down. Each row names the behaviour and checks the calls made on the cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { handlers, prepare, type Loop } from '../../internal/boot/act.ts';
import { abandonJoin, leave, promoteSelf } from '../../internal/boot/changes.ts';
import { healPass } from '../../internal/boot/heal.ts';
import { becomeReady } from '../../internal/boot/member.ts';
import type { Child } from '../../internal/supervisor/supervisor.ts';
import { observe } from '../../internal/boot/observe.ts';
import { DeisError } from '../../internal/errors.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { FakeKube } from '../fakes/kube.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { JoinWatchdog } from '../../internal/boot/watchdog.ts';
import { rejects } from '../helpers/rejects.ts';

const loop = (): Loop => ({ round: 0, quietSince: undefined, stuckSince: undefined });
const threeMembers = () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3]) c.addMember(n);
  return c;
};
const me3 = { name: 'etcd-2', 'advertise-host': '127.0.0.3' };

test('join: the dead previous incarnation goes first, then I am added as a learner, all under the lock', async () => {
  const cluster = threeMembers();
  cluster.members[2]!.healthy = false; // etcd-2's old incarnation, same peer URL
  const f = await fakeBoot(me3, { cluster });
  const start = await prepare(f.ctx);
  assert.equal(cluster.calls, ['lock /_deis-etcd/locks/membership', 'remove 3', 'add 100']);
  assert.is(start?.plan, 'join');
  assert.equal(start?.args, [
    '--initial-cluster',
    'etcd-0=http://127.0.0.1:2380,etcd-1=http://127.0.0.2:2380,etcd-2=http://127.0.0.3:2380',
    '--initial-cluster-state',
    'existing',
  ]);
  assert.equal(start?.endpoints, ['http://127.0.0.1:2379', 'http://127.0.0.2:2379']);
  const removed = f.log.entries.find((e) => e.msg === 'member removed');
  assert.equal([removed?.memberId, removed?.why], ['3', 'previous-incarnation']);
});

test('join: a member whose pod is gone is removed too; a healthy one never is', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { name: 'etcd-3' });
  cluster.addMember(5, { name: 'etcd-9', healthy: false }); // no pod etcd-9
  cluster.members[2]!.healthy = false;
  const f = await fakeBoot(me3, { cluster, kube: FakeKube.withPods(4) });
  await prepare(f.ctx);
  assert.equal(
    cluster.calls.filter((c) => c.startsWith('remove')),
    ['remove 3', 'remove 5'],
  );
  assert.equal(
    cluster.members.map((m) => m.id),
    ['1', '2', '4', '100'],
  );
});

test('join: my own unstarted add (a crash between add and start) is reused, not added again', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2]) cluster.addMember(n);
  cluster.addMember(3, { id: '77', name: '', clientUrls: [], isLearner: true, healthy: false });
  const f = await fakeBoot(me3, { cluster });
  const start = await prepare(f.ctx);
  assert.equal(cluster.calls, ['lock /_deis-etcd/locks/membership']);
  assert.match(start!.args[1]!, /etcd-2=http:\/\/127\.0\.0\.3:2380/);
  assert.ok(f.log.messages().includes('reusing my earlier add'));
});

test('join: a refused add (strict reconfig) is retried, then the loop decides again', async () => {
  const cluster = threeMembers();
  cluster.members[2]!.healthy = false;
  const unhealthy = () =>
    new DeisError('membership', 'unhealthy cluster', { reason: 'unhealthy-cluster', retryable: true });
  cluster.fail('memberAdd', unhealthy(), unhealthy(), unhealthy(), unhealthy(), unhealthy());
  const f = await fakeBoot(me3, { cluster });
  const start = await prepare(f.ctx);
  assert.is(start?.plan, 'join');
  assert.equal(
    cluster.calls.filter((c) => c.startsWith('add')),
    ['add 100'],
    'added once, after the refusals',
  );
  assert.ok(f.log.messages().includes('join attempt failed; deciding again'));
});

test('join: a non-retryable error ends boot with that error', async () => {
  const cluster = threeMembers();
  cluster.members[2]!.healthy = false;
  cluster.fail('memberAdd', new DeisError('membership', 'peer URL exists', { reason: 'peer-url-exists' }));
  const f = await fakeBoot(me3, { cluster });
  await rejects(prepare(f.ctx), /peer URL exists/);
});

test('wait: a cluster without quorum is waited for, backing off 500 ms doubling to 4 s, until --wait-timeout', async () => {
  const cluster = threeMembers();
  for (const m of cluster.members) m.healthy = m.id === '1';
  const f = await fakeBoot({ ...me3, 'wait-timeout': '10' }, { cluster, kube: FakeKube.withPods(3) });
  const d = f.discovery.connect(['http://127.0.0.200:2381']);
  await d.put('/_etcd/registry/tok/_config/size', '3');
  await d.put('/_etcd/registry/tok/_deis/cluster', '{"clusterId":"c1"}');
  await rejects(prepare(f.ctx), /gave up after 10 s: a cluster exists \(0 heartbeats\) but is not reachable yet/);
  assert.equal(f.clock.sleeps.slice(0, 5), [250, 500, 1000, 2000, 2000]);
  assert.equal(cluster.calls, [], 'no change while there is no quorum');
  assert.ok(f.discovery.kv.has('/_etcd/registry/tok/_deis/nodata/etcd-2'), 'announced that it waits without data');
});

test('fail: a size that disagrees with the registry is a config error', async () => {
  const f = await fakeBoot({ ...me3, 'cluster-size': '5' }, { cluster: new FakeCluster() });
  await f.discovery.connect(['http://127.0.0.200:2381']).put('/_etcd/registry/tok/_config/size', '3');
  await rejects(
    prepare(f.ctx),
    (e: unknown) => e instanceof DeisError && e.code === 'config' && /5 here but 3/.test(e.message),
  );
});

test('bootstrap: no live cluster and a registry with room start etcd with v3 discovery', async () => {
  const f = await fakeBoot(me3, { cluster: new FakeCluster() });
  await f.discovery.connect(['http://127.0.0.200:2381']).put('/_etcd/registry/tok/_config/size', '3');
  const start = await prepare(f.ctx);
  assert.is(start?.plan, 'bootstrap');
  assert.equal(start?.args.slice(0, 4), [
    '--discovery-token',
    'tok',
    '--discovery-endpoints',
    'http://127.0.0.200:2381',
  ]);
  assert.ok(f.discovery.kv.has('/_etcd/registry/tok/status/etcd-2'), 'heartbeat written before etcd starts');
  const beat = JSON.parse(f.discovery.kv.get('/_etcd/registry/tok/status/etcd-2')?.value ?? '{}');
  assert.is(beat.bootstrapping, true, 'the heartbeat says it bootstraps: the others do not probe its waiting etcd');
});

test('rejoin: data of a removed member is moved aside, never deleted', async () => {
  const cluster = threeMembers();
  cluster.members = cluster.members.filter((m) => m.id !== '3');
  const f = await fakeBoot(me3, { cluster });
  f.files.tree.set('/data/member/wal/0.wal', 'w');
  f.files.tree.set('/data/deis-etcd-member.json', JSON.stringify({ memberId: '3' }));
  const step = await handlers.rejoin(
    f.ctx,
    { kind: 'rejoin', reason: 'x' },
    await observe(f.ctx, { quietForMs: 0, rebuildGraceMs: 1 }),
    loop(),
  );
  assert.equal(step, { kind: 'again', sleepMs: 0 });
  const moved = [...f.files.tree.keys()].find((k) => k.includes('member.removed-'));
  assert.match(moved ?? '', /^\/data\/member\.removed-\d{4}-\d\d-\d\dT\d+Z\/wal\/0\.wal$/);
  assert.not.ok(f.files.tree.has('/data/member/wal/0.wal'));
});

test('restart: a changed pod IP updates my peer URL before etcd starts', async () => {
  const cluster = threeMembers();
  cluster.members[2]!.peerUrls = ['http://127.0.0.33:2380'];
  cluster.members[2]!.healthy = false;
  const f = await fakeBoot(me3, { cluster });
  f.files.tree.set('/data/member/wal/0.wal', 'w');
  f.files.tree.set('/data/deis-etcd-member.json', JSON.stringify({ memberId: '3' }));
  const start = await prepare(f.ctx);
  assert.equal([start?.plan, start?.args], ['restart', []]);
  assert.equal(cluster.calls, ['update 3']);
  assert.equal(cluster.members[2]!.peerUrls, ['http://127.0.0.3:2380']);
});

test('rebuild: under the discovery lock the registry is reset once nothing lived for the grace period', async () => {
  const f = await fakeBoot({ ...me3, 'rebuild-grace': '5' }, { cluster: new FakeCluster(), kube: undefined });
  const d = f.discovery.connect(['http://127.0.0.200:2381']);
  await d.put('/_etcd/registry/tok/_config/size', '3');
  await d.put('/_etcd/registry/tok/_deis/cluster', '{"clusterId":"old"}');
  const start = await prepare(f.ctx);
  assert.is(start?.plan, 'bootstrap');
  assert.is((await d.get('/_etcd/registry/tok/_deis/resets'))?.value, '1');
  assert.ok(f.clock.sleeps.reduce((a, b) => a + b, 0) >= 5000, 'waited the grace period first');
});

test('promote: retries while the learner catches up, then promotes once', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true });
  const notReady = () => new DeisError('membership', 'not in sync', { reason: 'learner-not-ready', retryable: true });
  cluster.fail('memberPromote', notReady(), notReady());
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4' }, { cluster });
  await promoteSelf(f.ctx, cluster.connect(['http://127.0.0.1:2379']), '4', new JoinWatchdog(f.ctx));
  assert.equal(cluster.calls, ['promote 4']);
  assert.equal(f.clock.sleeps, [50, 50]);
});

/** A started etcd child that keeps running. */
const runningChild = (): Child => ({
  pid: 1,
  exited: new Promise(() => undefined),
  running: () => true,
  signal: () => undefined,
  stop: async () => ({ code: 0, signal: null }),
});

test('join: promotion starts with etcd, before it is healthy (a learner stuck publishing needs that entry)', async () => {
  const cluster = threeMembers();
  // my learner has caught up, but etcd 3.6 refuses its publish ("too many requests") until an entry
  // after the snapshot is applied: it turns healthy only once the promotion is committed
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: true });
  cluster.onPromote = (m) => {
    m.healthy = true;
  };
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  await becomeReady(f.ctx, runningChild(), {
    plan: 'join',
    args: [],
    endpoints: ['http://127.0.0.1:2379'],
    memberId: '4',
  });
  assert.equal(cluster.calls, ['promote 4']);
  assert.is(f.ctx.member.id, '4');
});

test('join: a promoted member that does not publish itself within the grace fails with publish-lost', async () => {
  const cluster = threeMembers();
  // promoted, but its publish was applied inside the snapshot it received: it stays unhealthy while
  // its metrics listener answers (it runs and applies); the voters' member list does not show it
  // published (say, a voter's answer lags), so boot waits the whole grace
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: true, applied: 10, name: '' });
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  const err = await rejects(
    becomeReady(f.ctx, runningChild(), { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    /has not published itself 1[56]\d\d ms after its promotion/,
  );
  assert.is((err as DeisError).reason, 'publish-lost');
  assert.equal(cluster.calls, ['promote 4']);
  // a restart (plan 'restart') never gives up that way: it waits for health until --start-timeout
  await rejects(
    becomeReady(f.ctx, runningChild(), {
      plan: 'restart',
      args: [],
      endpoints: ['http://127.0.0.1:2379'],
      memberId: '4',
    }),
    /etcd is healthy: not reached within 10 s/,
  );
});

test('join: publish-lost sooner when the voters list the member as published (the cluster applied it)', async () => {
  const cluster = threeMembers();
  // not yet as far as the voters (they applied 20): still catching up, so only the promotion rule
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: true, applied: 10 }); // name and client URLs set
  for (const m of cluster.members.filter((x) => !x.isLearner)) m.applied = 20;
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  const err = await rejects(
    becomeReady(f.ctx, runningChild(), { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    /has not published itself [5-9]\d\d ms after its promotion/,
  );
  assert.is((err as DeisError).reason, 'publish-lost');
});

test('join: publish-lost at once when etcd has applied past its publish and does not serve (no promotion needed)', async () => {
  const cluster = threeMembers();
  // the voters list it published at their index 8; it has applied 10 (the snapshot) and never serves
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: false, applied: 10 });
  for (const m of cluster.members.filter((x) => !x.isLearner)) m.applied = 8;
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  const t0 = f.ctx.clock.now();
  const err = await rejects(
    becomeReady(f.ctx, runningChild(), { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    /applied index 8 or later .* does not serve 1[5-9]\d ms later/,
  );
  assert.is((err as DeisError).reason, 'publish-lost');
  assert.ok(f.ctx.clock.now() - t0 < 1000, `found after ${f.ctx.clock.now() - t0} ms`);
  assert.equal(cluster.calls, [], 'not promoted: a learner out of sync');
});

test('join: a learner the voters do not list as published is no lost publish, however far it applied', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: false, applied: 10, name: '' });
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '3' }, { cluster });
  const err = await rejects(
    becomeReady(f.ctx, runningChild(), { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    /join stalled|not reached within 3 s/,
  );
  assert.is.not((err as DeisError).reason, 'publish-lost');
});

test('join: a promoted member whose etcd does not answer at all (paused) is no lost publish: no restart', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: true }); // no metrics answer
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  const err = await rejects(
    becomeReady(f.ctx, runningChild(), { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    /join stalled|not reached within 10 s/,
  );
  assert.is.not((err as DeisError).reason, 'publish-lost');
});

test('join: promoting stops when etcd exits before it is healthy', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true, healthy: false, inSync: false });
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'start-timeout': '10' }, { cluster });
  const child: Child = { ...runningChild(), exited: Promise.resolve({ code: 1, signal: null }), running: () => false };
  await rejects(
    becomeReady(f.ctx, child, { plan: 'join', args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' }),
    (err) => err instanceof DeisError && err.code === 'etcd-exited',
  );
  assert.equal(cluster.calls, []);
});

test('join watchdog: a learner whose applied index stops advancing fails with join-stalled', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true, applied: 7 });
  const notReady = () => new DeisError('membership', 'not in sync', { reason: 'learner-not-ready', retryable: true });
  cluster.fail('memberPromote', ...Array.from({ length: 400 }, notReady));
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'join-stall-timeout': '10' }, { cluster });
  const watch = new JoinWatchdog(f.ctx);
  const err = await rejects(
    promoteSelf(f.ctx, cluster.connect(['http://127.0.0.1:2379']), '4', watch),
    /join stalled: applied index 7 unchanged for 1[01] s/,
  );
  assert.is((err as DeisError).reason, 'join-stalled');
  assert.ok(
    f.clock.sleeps.length >= 200 && f.clock.sleeps.length <= 208,
    `polled every 50 ms for ~10 s (${f.clock.sleeps.length})`,
  );
});

test('join watchdog: a learner that keeps applying is not given up before --start-timeout', async () => {
  const cluster = threeMembers();
  const learner = cluster.addMember(4, { isLearner: true, applied: 0 });
  let n = 0;
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'join-stall-timeout': '2' }, { cluster });
  const voters = cluster.connect(['http://127.0.0.1:2379']);
  const orig = voters.memberPromote;
  voters.memberPromote = async (id) => {
    learner.applied = ++n * 100; // progressing
    if (n < 30) throw new DeisError('membership', 'not in sync', { reason: 'learner-not-ready', retryable: true });
    return orig(id);
  };
  await promoteSelf(f.ctx, voters, '4', new JoinWatchdog(f.ctx));
  assert.equal(cluster.calls, ['promote 4']);
});

test('join watchdog: a learner whose metrics listener does not answer (a paused etcd) is stalled too', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true });
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4', 'join-stall-timeout': '5' }, { cluster });
  const watch = new JoinWatchdog(f.ctx);
  await watch.check();
  f.clock.advance(6000);
  await rejects(watch.check(), /join stalled: applied index unknown unchanged for 6 s/);
});

test('join watchdog: a stalled join is given up (learner removed through the voters, data moved aside)', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { isLearner: true });
  const f = await fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4' }, { cluster });
  f.ctx.member.id = '4';
  f.files.tree.set('/data/member/wal/0.wal', 'w');
  let stopped = false;
  await abandonJoin(
    f.ctx,
    async () => {
      stopped = true;
    },
    ['http://127.0.0.1:2379'],
    undefined,
  );
  assert.ok(stopped);
  assert.equal(cluster.calls, ['remove 4']);
  assert.ok([...f.files.tree.keys()].some((k) => /^\/data\/member\.stalled-.*\/wal\/0\.wal$/.test(k)));
  assert.is(f.ctx.member.id, undefined);
  assert.match(f.ctx.metrics.render(), /deis_etcd_join_retries_total\{reason="stalled"\} 1/);
});

test('heal: the leader removes a member whose pod is gone only after the grace period, one per pass', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { name: 'etcd-3', healthy: false });
  cluster.addMember(5, { name: 'etcd-4', healthy: false });
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1', 'pod-gone-grace': '30' }, { cluster });
  f.ctx.member.id = '1';
  const state = { goneSince: new Map<string, number>() };
  assert.equal((await healPass(f.ctx, state)).removed, [], 'first seen: not yet');
  f.clock.advance(31_000);
  assert.equal((await healPass(f.ctx, state)).removed, ['4']);
  assert.equal((await healPass(f.ctx, state)).removed, ['5']);
  const rm = f.log.entries.filter((e) => e.msg === 'member removed').map((e) => [e.memberId, e.why]);
  assert.equal(rm, [
    ['4', 'pod-gone'],
    ['5', 'pod-gone'],
  ]);
});

test('heal: a member already removed by someone else (member not found) counts as removed', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { name: 'etcd-3', healthy: false });
  cluster.fail('memberRemove', new DeisError('membership', 'member not found', { reason: 'member-not-found' }));
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1', 'pod-gone-grace': '0' }, { cluster });
  f.ctx.member.id = '1';
  assert.equal((await healPass(f.ctx, { goneSince: new Map() })).removed, ['4']);
});

test('heal: a follower changes nothing; the leader promotes a healthy learner', async () => {
  const cluster = threeMembers();
  cluster.addMember(4, { name: 'etcd-3', isLearner: true });
  const kube = FakeKube.withPods(4);
  const follower = await fakeBoot({ name: 'etcd-1', 'advertise-host': '127.0.0.2' }, { cluster, kube });
  follower.ctx.member.id = '2';
  assert.equal(await healPass(follower.ctx, { goneSince: new Map() }), { leader: false, promoted: [], removed: [] });
  const leader = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  leader.ctx.member.id = '1';
  assert.equal((await healPass(leader.ctx, { goneSince: new Map() })).promoted, ['4']);
  assert.equal(cluster.calls, ['promote 4']);
});

test('heal: never removes a member when the rest would lose their healthy majority', async () => {
  const cluster = threeMembers();
  cluster.members[1]!.healthy = false;
  cluster.members[2]!.healthy = false;
  cluster.addMember(4, { name: 'etcd-3', healthy: false });
  // 1 of 4 voters healthy: no quorum, so the fake's leader is gone; force the view of a leader anyway
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1', 'pod-gone-grace': '0' }, { cluster });
  f.ctx.member.id = '1';
  await rejects(healPass(f.ctx, { goneSince: new Map() }), /no leader/);
  assert.equal(cluster.calls, []);
});

test('leave: a leaving leader hands leadership to a member that stays, then waits for its removal', async () => {
  const cluster = threeMembers();
  const kube = FakeKube.withPods(3);
  kube.replicas = 2;
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  f.ctx.member.id = '1';
  // etcd-0 has ordinal 0 < 2 replicas: not a scale-down, only the hand-off
  await leave(f.ctx, () => true);
  assert.equal(cluster.calls, ['move-leader 2']);
  cluster.calls = [];
  cluster.leader = '3';
  const g = await fakeBoot(me3, { cluster, kube });
  g.ctx.member.id = '3';
  let polls = 0;
  g.clock.sleep = async () => {
    if (++polls === 2) cluster.members = cluster.members.filter((m) => m.id !== '3');
  };
  await leave(g.ctx, () => cluster.members.some((m) => m.id === '3'));
  assert.equal(cluster.calls, ['move-leader 1'], 'leadership to etcd-0 (stays), no self-removal');
  assert.is(polls, 2);
});

test('leave: an ordinary restart (ordinal < replicas) or an unreadable StatefulSet keeps the member', async () => {
  const cluster = threeMembers();
  const kube = FakeKube.withPods(3);
  kube.error = new DeisError('forbidden', 'no get statefulsets', { reason: 'forbidden' });
  const f = await fakeBoot(me3, { cluster, kube });
  f.ctx.member.id = '3';
  await leave(f.ctx, () => true);
  assert.equal(cluster.calls, []);
  assert.ok(f.log.messages().includes('cannot tell a scale-down from a restart; keeping the member'));
});

test.run();
