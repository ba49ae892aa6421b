// Table tests of the pure membership decision: every plan and the quorum edge cases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canRemove,
  decide,
  quorum,
  type MemberView,
  type Observation,
  type Plan,
} from '../../internal/membership/decide.ts';

const url = (i: number) => `http://10.0.0.${i}:2380`;
const self = { name: 'etcd-0', peerUrl: url(100) };
const m = (i: number, over: Partial<MemberView> = {}): MemberView => ({
  id: `a${i}`,
  name: `etcd-${i}`,
  peerUrls: [url(i)],
  isLearner: false,
  healthy: true,
  ...over,
});
const pods = (...names: string[]) =>
  names.map((n, _i) => ({ name: n, ip: `10.0.0.${n === 'etcd-0' ? 100 : Number(n.split('-')[1])}` }));

function obs(over: Partial<Observation> = {}): Observation {
  return {
    self,
    configuredSize: 3,
    data: { hasWal: false },
    discovery: { reachable: true, size: 3, registrations: [], heartbeats: [], clusterFormed: false },
    cluster: { reachable: false, anyAlive: false },
    pods: undefined,
    quietForMs: 0,
    rebuildGraceMs: 20_000,
    ...over,
  };
}
const live = (members: MemberView[]) => ({ reachable: true as const, clusterId: 'c1', members });
const disc = (over: Partial<Extract<Observation['discovery'], { reachable: true }>> = {}) => ({
  reachable: true as const,
  size: 3,
  registrations: [],
  heartbeats: [],
  clusterFormed: false,
  ...over,
});

/** A plan as a row expects it: every field, the reason (where the plan has one) as a pattern of its key facts. */
type Want<P = Plan> = P extends { reason: string } ? Omit<P, 'reason'> & { reason: RegExp } : P;
/** An add that never started: a learner without a name at peerUrl. */
const unstarted = (i: number, peerUrl: string) =>
  m(i, { name: '', peerUrls: [peerUrl], isLearner: true, healthy: false });
const regs = (...is: number[]) =>
  is.map((i) => ({ id: `r${i}`, name: `etcd-${i}`, peerUrls: [url(i)], createRevision: i }));

const rows: { name: string; input: Observation; want: Want }[] = [
  // restart
  {
    name: 'data, cluster unreachable: restart from data (may be needed for quorum)',
    input: obs({ data: { hasWal: true } }),
    want: { kind: 'restart', memberId: undefined, updatePeerUrl: false, reason: /cluster is not reachable/ },
  },
  {
    name: 'data, cluster knows me by marker ID: restart',
    input: obs({
      data: { hasWal: true, markerMemberId: 'a0' },
      cluster: live([m(0, { peerUrls: [url(100)] }), m(1), m(2)]),
    }),
    want: { kind: 'restart', memberId: 'a0', updatePeerUrl: false, reason: /^data present$/ },
  },
  {
    name: 'data, my IP changed: restart after a peer URL update',
    input: obs({ data: { hasWal: true, markerMemberId: 'a0' }, cluster: live([m(0, { healthy: false }), m(1), m(2)]) }),
    want: { kind: 'restart', memberId: 'a0', updatePeerUrl: true, reason: /pod IP changed/ },
  },
  {
    name: 'data, no marker, found by name: restart',
    input: obs({ data: { hasWal: true }, cluster: live([m(0, { peerUrls: [url(100)] }), m(1), m(2)]) }),
    want: { kind: 'restart', memberId: 'a0', updatePeerUrl: false, reason: /^data present$/ },
  },
  {
    name: 'data, a learner I was (crash before promotion): restart',
    input: obs({
      data: { hasWal: true, markerMemberId: 'a0' },
      cluster: live([m(0, { isLearner: true, peerUrls: [url(100)] }), m(1), m(2)]),
    }),
    want: { kind: 'restart', memberId: 'a0', updatePeerUrl: false, reason: /^data present$/ },
  },
  // rejoin
  {
    name: 'data, the cluster removed me: rejoin',
    input: obs({ data: { hasWal: true, markerMemberId: 'dead' }, cluster: live([m(1), m(2), m(3)]) }),
    want: { kind: 'rejoin', reason: /no longer has this member/ },
  },
  // join
  {
    name: 'no data, healthy cluster without me: join, nothing to remove',
    input: obs({ cluster: live([m(1), m(2), m(3)]), pods: pods('etcd-0', 'etcd-1', 'etcd-2', 'etcd-3') }),
    want: { kind: 'join', removals: [], reuseMemberId: undefined },
  },
  {
    name: 'no data, my old incarnation (same name) is dead: remove it, then join',
    input: obs({ cluster: live([m(0, { healthy: false }), m(1), m(2)]), pods: pods('etcd-0', 'etcd-1', 'etcd-2') }),
    want: {
      kind: 'join',
      removals: [{ id: 'a0', name: 'etcd-0', why: 'previous-incarnation' }],
      reuseMemberId: undefined,
    },
  },
  {
    name: 'no data, 5 members, a dead minority of 2 (my old incarnation, a member whose pod is gone): both go',
    input: obs({
      cluster: live([m(0, { healthy: false }), m(1), m(2), m(3, { healthy: false }), m(4)]),
      pods: pods('etcd-0', 'etcd-1', 'etcd-2', 'etcd-4'),
    }),
    want: {
      kind: 'join',
      removals: [
        { id: 'a0', name: 'etcd-0', why: 'previous-incarnation' },
        { id: 'a3', name: 'etcd-3', why: 'pod-gone' },
      ],
      reuseMemberId: undefined,
    },
  },
  {
    name: 'a dead member whose pod exists is not removed',
    input: obs({
      cluster: live([m(1), m(2), m(3, { healthy: false })]),
      pods: pods('etcd-0', 'etcd-1', 'etcd-2', 'etcd-3'),
    }),
    want: { kind: 'join', removals: [], reuseMemberId: undefined },
  },
  {
    name: 'a member whose pod is gone but that is healthy is not removed',
    input: obs({ cluster: live([m(1), m(2), m(3)]), pods: pods('etcd-0', 'etcd-1', 'etcd-2') }),
    want: { kind: 'join', removals: [], reuseMemberId: undefined },
  },
  {
    name: 'without Kubernetes, no pod-gone removals',
    input: obs({ cluster: live([m(1), m(2), m(3, { healthy: false })]) }),
    want: { kind: 'join', removals: [], reuseMemberId: undefined },
  },
  {
    name: 'my own unstarted add (crash after add, before start): reuse it',
    input: obs({ cluster: live([m(1), m(2), unstarted(9, url(100))]), pods: pods('etcd-0', 'etcd-1', 'etcd-2') }),
    want: { kind: 'join', removals: [], reuseMemberId: 'a9' },
  },
  {
    name: 'a stale unstarted add at no pod address is removed',
    input: obs({
      cluster: live([m(1), m(2), unstarted(9, 'http://10.9.9.9:2380')]),
      pods: pods('etcd-0', 'etcd-1', 'etcd-2'),
    }),
    want: { kind: 'join', removals: [{ id: 'a9', name: '', why: 'stale-add' }], reuseMemberId: undefined },
  },
  {
    name: "another pod's unstarted add at its DNS peer URL is not stale: wait for it",
    input: obs({
      cluster: live([m(1), m(2), unstarted(9, 'http://etcd-3.deis-etcd-peers.ns.svc.cluster.local:2380')]),
      pods: pods('etcd-0', 'etcd-1', 'etcd-2', 'etcd-3'),
    }),
    want: { kind: 'wait', reason: /member a9 is still joining as a learner/ },
  },
  {
    name: "another pod's pending learner: wait (max-learners 1)",
    input: obs({
      cluster: live([m(1), m(2), m(3, { isLearner: true })]),
      pods: pods('etcd-0', 'etcd-1', 'etcd-2', 'etcd-3'),
    }),
    want: { kind: 'wait', reason: /member etcd-3 is still joining as a learner/ },
  },
  {
    name: '1-member cluster whose only member is my dead old self: no quorum, wait',
    input: obs({ cluster: live([m(0, { healthy: false })]) }),
    want: { kind: 'wait', reason: /no healthy majority \(0 of 1 voters healthy\)/ },
  },
  {
    name: 'members answer during an election and the registry was lost (not formed): wait, never bootstrap beside them',
    input: obs({ cluster: { reachable: false, anyAlive: true } }),
    want: { kind: 'wait', reason: /members answer but the cluster has no leader yet/ },
  },
  {
    name: 'dead majority (1 of 3 healthy): wait, never remove',
    input: obs({
      cluster: live([m(0, { healthy: false }), m(1), m(2, { healthy: false })]),
      pods: pods('etcd-0', 'etcd-1'),
    }),
    want: { kind: 'wait', reason: /no healthy majority \(1 of 3 voters healthy\)/ },
  },
  {
    name: 'a healthy member already has my name at another URL: wait',
    input: obs({ cluster: live([m(0), m(1), m(2)]) }),
    want: { kind: 'wait', reason: /a healthy member a0 already uses the name etcd-0 at http:\/\/10\.0\.0\.0:2380/ },
  },
  // bootstrap
  {
    name: 'nothing anywhere, registry empty: bootstrap',
    input: obs(),
    want: { kind: 'bootstrap', dropRegistrations: [] },
  },
  {
    name: 'registry has 2 others: bootstrap as the third',
    input: obs({ discovery: disc({ registrations: regs(1, 2), heartbeats: ['etcd-1', 'etcd-2'] }) }),
    want: { kind: 'bootstrap', dropRegistrations: [] },
  },
  {
    name: 'my stale registration at an old IP is dropped before bootstrap',
    input: obs({
      discovery: disc({ registrations: [{ id: 'r0', name: 'etcd-0', peerUrls: [url(50)], createRevision: 5 }] }),
    }),
    want: { kind: 'bootstrap', dropRegistrations: ['r0'] },
  },
  {
    name: 'size here differs from the registry: fail',
    input: obs({ configuredSize: 5 }),
    want: { kind: 'fail', reason: /size is 5 here but 3 in the discovery registry/ },
  },
  // wait / rebuild
  {
    name: 'registry full without me, members alive: wait',
    input: obs({ discovery: disc({ registrations: regs(1, 2, 3), heartbeats: ['etcd-1'] }) }),
    want: { kind: 'wait', reason: /a cluster exists \(1 heartbeats\) but is not reachable/ },
  },
  {
    name: 'registry full, nobody alive, not long enough: wait',
    input: obs({ quietForMs: 5_000, discovery: disc({ clusterFormed: true }) }),
    want: { kind: 'wait', reason: /no member alive; rebuilding if that lasts 20 s/ },
  },
  {
    name: 'registry full but no member alive for the grace period: rebuild',
    input: obs({ quietForMs: 25_000, discovery: disc({ clusterFormed: true, registrations: regs(1, 2, 3) }) }),
    want: { kind: 'rebuild', reason: /no member alive for 25 s and the registry is used/ },
  },
  {
    name: 'cluster formed and a member process answers but without quorum: wait, no rebuild',
    input: obs({
      quietForMs: 60_000,
      cluster: { reachable: false, anyAlive: true },
      discovery: disc({ clusterFormed: true }),
    }),
    want: { kind: 'wait', reason: /a cluster exists \(0 heartbeats\) but is not reachable/ },
  },
  {
    name: 'discovery unreachable and no cluster: wait',
    input: obs({ discovery: { reachable: false } }),
    want: { kind: 'wait', reason: /neither the cluster nor the discovery service is reachable/ },
  },
  {
    name: 'registry without a size key: wait',
    input: obs({ discovery: disc({ size: undefined }) }),
    want: { kind: 'wait', reason: /no size key/ },
  },
];

/** A plan's fields without its reason, and the reason. */
function split(p: object): [Record<string, unknown>, unknown] {
  const { reason, ...rest } = p as { reason?: unknown };
  return [rest, reason];
}

for (const row of rows) {
  test(row.name, () => {
    const plan = decide(row.input);
    const [got, gotReason] = split(plan);
    const [want, wantReason] = split(row.want);
    assert.equal(got, want, JSON.stringify(plan));
    if (wantReason instanceof RegExp) assert.match(String(gotReason), wantReason);
    else assert.is(gotReason, undefined, `a ${plan.kind} plan has no reason`);
  });
}

test('quorum counts only voters', () => {
  assert.equal(quorum([m(1), m(2), m(3, { isLearner: true, healthy: false })]), { voters: 2, healthy: 2, ok: true });
  assert.equal(quorum([m(1), m(2, { healthy: false }), m(3, { healthy: false })]), {
    voters: 3,
    healthy: 1,
    ok: false,
  });
});

test('canRemove keeps a healthy majority of what remains', () => {
  const three = [m(1), m(2), m(3, { healthy: false })];
  assert.ok(canRemove(three, 'a3'), 'dead one of three');
  assert.ok(!canRemove([m(1), m(2, { healthy: false }), m(3, { healthy: false })], 'a3'), '2 voters left, 1 healthy');
  assert.ok(!canRemove([m(1)], 'a1'), 'never the last voter');
  assert.ok(canRemove([m(1), m(2, { isLearner: true })], 'a2'), 'a learner always');
  assert.ok(canRemove([m(1), m(2), m(3), m(4), m(5)], 'a5'), 'a healthy one of five (scale-down)');
});

test.run();
