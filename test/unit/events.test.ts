// Kubernetes Events from boot: the recorder's aggregation (a loop cannot flood the API), its
// never-stop-boot rule, and the Events the runner's parts report through the fake Kubernetes API.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AGGREGATE_WINDOW_MS, EventRecorder, PATCH_EVERY_MS } from '../../internal/boot/events.ts';
import { healPass, scaleDownPass } from '../../internal/boot/heal.ts';
import { checkQuorum, QUORUM_EVENT_AFTER_MS } from '../../internal/boot/recover.ts';
import { DeisError } from '../../internal/errors.ts';
import { eventName } from '../../internal/k8s/events.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { fakeClock } from '../fakes/clock.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { FakeEvents } from '../fakes/events.ts';
import { FakeKube } from '../fakes/kube.ts';
import { memoryLogger } from '../fakes/log.ts';

const recorder = (sink: FakeEvents | undefined) => {
  const log = memoryLogger();
  const clock = fakeClock(1_000_000);
  return { log, clock, rec: new EventRecorder({ sink, log, clock, pod: 'etcd-0', statefulSet: 'etcd' }) };
};

test('recorder: a reason repeated about one object is one Event whose series counts the repeats', async () => {
  const sink = new FakeEvents();
  const { rec, clock } = recorder(sink);
  for (let i = 0; i < 50; i++) {
    rec.emit('QuorumLost', `no leader (${i})`);
    clock.advance(100);
  }
  await rec.flush();
  assert.equal(sink.list(), ['QuorumLost StatefulSet/etcd']);
  assert.ok(sink.patches <= 1, `patches at most once per ${PATCH_EVERY_MS} ms (got ${sink.patches})`);
  clock.advance(PATCH_EVERY_MS);
  rec.emit('QuorumLost', 'no leader (last)');
  await rec.flush();
  assert.is(sink.events[0]!.count, 51, 'the next patch carries every repeat');
  assert.is(sink.events[0]!.note, 'no leader (0)');
});

test('recorder: other objects, other reasons and repeats after the window are new Events', async () => {
  const sink = new FakeEvents();
  const { rec, clock } = recorder(sink);
  rec.emit('MemberRemoved', 'x', 'etcd-1');
  rec.emit('MemberRemoved', 'y', 'etcd-2');
  rec.emit('MemberJoined', 'z');
  clock.advance(AGGREGATE_WINDOW_MS);
  rec.emit('MemberRemoved', 'again', 'etcd-1');
  await rec.flush();
  assert.equal(sink.list(), [
    'MemberRemoved Pod/etcd-1',
    'MemberRemoved Pod/etcd-2',
    'MemberJoined Pod/etcd-0',
    'MemberRemoved Pod/etcd-1',
  ]);
  assert.equal(
    sink.events.map((e) => [e.type, e.action, e.reporter]),
    [
      ['Normal', 'Remove', 'etcd-0'],
      ['Normal', 'Remove', 'etcd-0'],
      ['Normal', 'Join', 'etcd-0'],
      ['Normal', 'Remove', 'etcd-0'],
    ],
  );
});

test('recorder: a refused write never throws and is logged once (warn), later ones at debug', async () => {
  const sink = new FakeEvents();
  sink.error = new DeisError('forbidden', 'the Kubernetes API refused to create events.events.k8s.io');
  const { rec, log } = recorder(sink);
  rec.emit('MemberJoined', 'a');
  rec.emit('LearnerPromoted', 'b');
  rec.emit('MemberJoined', 'c');
  await rec.flush();
  const said = log.entries.filter((e) => String(e.msg).startsWith('cannot write a Kubernetes Event'));
  // the third is a repeat of the first within the patch interval: counted, not written
  assert.equal(
    said.map((e) => e.level),
    ['warn', 'debug'],
  );
  sink.error = undefined;
  rec.emit('MemberJoined', 'd');
  await rec.flush();
  assert.equal(sink.list(), ['MemberJoined Pod/etcd-0'], 'a failed create is retried by the next repeat');
});

test('recorder: without Kubernetes it does nothing', async () => {
  const { rec, log } = recorder(undefined);
  rec.emit('ClusterBootstrapped', 'x');
  await rec.flush();
  assert.equal(log.entries, []);
});

const cluster5 = () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3, 4, 5]) c.addMember(n);
  return c;
};

test('boot: the leader scaling 5 -> 3 reports MemberRemoved (scale-down) and MemberLeft per leaver', async () => {
  const kube = FakeKube.withPods(5);
  kube.replicas = 3;
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster: cluster5(), kube });
  f.ctx.member.id = '1';
  for (let i = 0; i < 3; i++) await scaleDownPass(f.ctx);
  await f.ctx.events.flush();
  assert.equal(kube.events.list(), [
    'MemberRemoved Pod/etcd-4',
    'MemberLeft Pod/etcd-4',
    'MemberRemoved Pod/etcd-3',
    'MemberLeft Pod/etcd-3',
  ]);
  assert.match(kube.events.events[0]!.note, /\(scale-down\)$/);
});

test('boot: the heal pass reports a removal whose pod is gone and a promotion', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n);
  cluster.addMember(4, { name: 'etcd-3', isLearner: true });
  cluster.addMember(5, { name: 'etcd-9', healthy: false });
  const kube = FakeKube.withPods(4);
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1', 'pod-gone-grace': '0' }, { cluster, kube });
  f.ctx.member.id = '1';
  await healPass(f.ctx, { goneSince: new Map() });
  await f.ctx.events.flush();
  assert.equal(kube.events.list(), ['LearnerPromoted Pod/etcd-3', 'MemberRemoved Pod/etcd-9']);
  assert.match(kube.events.events[1]!.note, /its pod is gone \(pod-gone\)/);
});

test('boot: no leader for a moment is not QuorumLost; 5 s is, and QuorumRecovered follows once', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n, { healthy: n === 1 });
  const kube = FakeKube.withPods(3);
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube });
  f.ctx.member.id = '1';
  const state = { lostSince: undefined, said: '' };
  await checkQuorum(f.ctx, state);
  f.clock.advance(QUORUM_EVENT_AFTER_MS - 1);
  await checkQuorum(f.ctx, state);
  await f.ctx.events.flush();
  assert.equal(kube.events.list(), [], 'an election-length gap is not reported');
  f.clock.advance(1);
  await checkQuorum(f.ctx, state);
  await checkQuorum(f.ctx, state);
  for (const m of cluster.members) m.healthy = true;
  await checkQuorum(f.ctx, state);
  await checkQuorum(f.ctx, state);
  await f.ctx.events.flush();
  assert.equal(kube.events.list(), ['QuorumLost StatefulSet/etcd', 'QuorumRecovered StatefulSet/etcd']);
  assert.is(kube.events.events[0]!.type, 'Warning');
});

test('Event names are valid object names (an RFC 1123 subdomain) and differ between reporters', () => {
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const at = new Date('2026-11-30T11:30:55.877Z');
  const a = eventName('deis-etcd-3', at, () => 0);
  const b = eventName('deis-etcd-3', at, () => 0.5);
  assert.match(a, subdomain);
  assert.match(b, subdomain);
  assert.ok(a.startsWith('deis-etcd-3.') && a.length <= 253, a);
  assert.is.not(a, b);
});

test.run();
