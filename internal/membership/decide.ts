// PURE membership decisions: given what a booting member observed (its data dir, the discovery
// registry and heartbeats, the cluster's members and their health, the pods that exist), return the
// one plan to carry out. No I/O, no timers, no adapter imports: every hard case is a table test.
//
// Rules (docs/membership.md and DESIGN.md §3):
// - Data here restarts from it; it never re-adds itself. A member the cluster removed meanwhile moves
//   its data aside and joins afresh.
// - With no data, a reachable cluster is joined: my previous incarnation and members whose pods are
//   gone are removed first (a dead member must go before its replacement is added: strict reconfig),
//   then I am added as a learner and promoted once caught up.
// - Only when nothing lives (no reachable member, no heartbeat) for a grace period does a member
//   reset the registry and bootstrap anew (the seed's "rebuild a failed cluster").
// - No change may lose quorum: a removal only when the remaining voters still have a healthy majority.

export interface MemberView {
  id: string;
  /** Empty while an added member has not started. */
  name: string;
  peerUrls: string[];
  isLearner: boolean;
  /** Answered a status/health call just now. */
  healthy: boolean;
}

export interface Registration {
  id: string;
  name: string;
  peerUrls: string[];
  createRevision: number;
}

export interface Observation {
  self: { name: string; peerUrl: string };
  configuredSize: number;
  data: { hasWal: boolean; markerMemberId?: string | undefined };
  discovery:
    | { reachable: false }
    | {
        reachable: true;
        size: number | undefined;
        registrations: Registration[];
        heartbeats: string[];
        clusterFormed: boolean;
      };
  cluster: { reachable: false; anyAlive: boolean } | { reachable: true; clusterId: string; members: MemberView[] };
  /** Pods that exist for the member selector (name and IP); undefined without a Kubernetes API. */
  pods: { name: string; ip: string | undefined }[] | undefined;
  /** This pod's ordinal is at or beyond its StatefulSet's replicas: it is being scaled away. */
  scaledAway?: boolean | undefined;
  /** How long this boot has seen no sign of life anywhere (no reachable member, no heartbeat). */
  quietForMs: number;
  /** How long that must last before the registry is reset and a new cluster bootstraps. */
  rebuildGraceMs: number;
}

export interface Removal {
  id: string;
  name: string;
  why: 'previous-incarnation' | 'pod-gone' | 'stale-add' | 'scale-down' | 'join-stalled';
}

export type Plan =
  | { kind: 'restart'; memberId: string | undefined; updatePeerUrl: boolean; reason: string }
  | { kind: 'rejoin'; reason: string }
  | { kind: 'join'; removals: Removal[]; reuseMemberId: string | undefined }
  | { kind: 'bootstrap'; dropRegistrations: string[] }
  | { kind: 'rebuild'; reason: string }
  | { kind: 'wait'; reason: string }
  | { kind: 'fail'; reason: string };

const majority = (n: number) => Math.floor(n / 2) + 1;
const SCALED_AWAY =
  "this pod's ordinal is at or beyond the StatefulSet's replicas: it is being scaled away, so it does not join";

const hostOf = (url: string) => {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
};

/** Voting members that are healthy, and how many voters there are. */
export function quorum(members: MemberView[]): { voters: number; healthy: number; ok: boolean } {
  const voters = members.filter((m) => !m.isLearner);
  const healthy = voters.filter((m) => m.healthy).length;
  return { voters: voters.length, healthy, ok: voters.length > 0 && healthy >= majority(voters.length) };
}

/** Whether removing member `id` from `members` keeps a healthy majority of the voters that remain. */
export function canRemove(members: MemberView[], id: string): boolean {
  const target = members.find((m) => m.id === id);
  if (!target) return false;
  if (target.isLearner) return true;
  const rest = members.filter((m) => m.id !== id && !m.isLearner);
  return rest.length > 0 && rest.filter((m) => m.healthy).length >= majority(rest.length);
}

/**
 * Members that can go, one after another, each keeping quorum: my previous incarnation, members
 * whose pods no longer exist, and adds that never started whose address is no pod's. Never a healthy
 * member, never one whose pod exists.
 */
export function removals(
  members: MemberView[],
  self: Observation['self'],
  pods: Observation['pods'],
): { removals: Removal[]; blocked: string | undefined } {
  const out: Removal[] = [];
  let left = members;
  let blocked: string | undefined;
  const podNames = pods && new Set(pods.map((p) => p.name));
  const podIps = pods && new Set(pods.map((p) => p.ip).filter(Boolean));
  for (const m of members) {
    const mine = m.name === self.name || m.peerUrls.includes(self.peerUrl);
    let why: Removal['why'] | undefined;
    if (mine && m.name !== '') why = 'previous-incarnation';
    else if (!mine && m.name !== '' && podNames && !podNames.has(m.name)) why = 'pod-gone';
    // an add that never started is stale when its peer URL is no pod's: neither a pod IP nor a
    // pod's DNS name (<pod>.<service>...)
    else if (
      !mine &&
      m.name === '' &&
      podIps &&
      podNames &&
      !m.peerUrls.some((u) => podIps.has(hostOf(u)) || podNames.has(hostOf(u).split('.')[0]!))
    )
      why = 'stale-add';
    if (!why || m.healthy) continue;
    if (!canRemove(left, m.id)) {
      blocked ??= `removing ${m.name || m.id} (${why}) would leave no healthy majority`;
      continue;
    }
    out.push({ id: m.id, name: m.name, why });
    left = left.filter((x) => x.id !== m.id);
  }
  return { removals: out, blocked };
}

export function decide(o: Observation): Plan {
  const { self } = o;

  if (o.data.hasWal) {
    if (!o.cluster.reachable) {
      return {
        kind: 'restart',
        memberId: o.data.markerMemberId,
        updatePeerUrl: false,
        reason:
          'data present; the cluster is not reachable, so start from the data ' +
          '(the cluster may need this member for quorum)',
      };
    }
    const mine = o.cluster.members.find((m) =>
      o.data.markerMemberId ? m.id === o.data.markerMemberId : m.name === self.name,
    );
    if (!mine && o.scaledAway) return { kind: 'wait', reason: SCALED_AWAY };
    if (!mine) return { kind: 'rejoin', reason: 'data present but the cluster no longer has this member' };
    const updatePeerUrl = !(mine.peerUrls.length === 1 && mine.peerUrls[0] === self.peerUrl);
    return {
      kind: 'restart',
      memberId: mine.id,
      updatePeerUrl,
      reason: updatePeerUrl ? 'data present; pod IP changed' : 'data present',
    };
  }

  if (o.scaledAway) return { kind: 'wait', reason: SCALED_AWAY };
  if (o.cluster.reachable) {
    const { members } = o.cluster;
    const q = quorum(members);
    if (!q.ok)
      return {
        kind: 'wait',
        reason: `the cluster has no healthy majority (${q.healthy} of ${q.voters} voters healthy)`,
      };
    const twin = members.find((m) => m.name === self.name && m.healthy && !m.peerUrls.includes(self.peerUrl));
    if (twin)
      return {
        kind: 'wait',
        reason: `a healthy member ${twin.id} already uses the name ${self.name} at ${twin.peerUrls.join(',')}`,
      };
    const sameUrlHealthy = members.find((m) => m.peerUrls.includes(self.peerUrl) && m.healthy);
    if (sameUrlHealthy)
      return { kind: 'wait', reason: `member ${sameUrlHealthy.id} answers at my peer URL ${self.peerUrl}` };
    const { removals: rm, blocked } = removals(members, self, o.pods);
    const mustGo = members.filter((m) => m.name === self.name && m.name !== '' && !rm.some((r) => r.id === m.id));
    if (mustGo.length)
      return { kind: 'wait', reason: blocked ?? `my previous incarnation ${mustGo[0]!.id} cannot be removed yet` };
    const reuse = members.find((m) => m.name === '' && m.peerUrls.includes(self.peerUrl));
    const afterRemovals = members.filter((m) => !rm.some((r) => r.id === m.id));
    const otherLearner = afterRemovals.find((m) => m.isLearner && m.id !== reuse?.id);
    if (otherLearner && !reuse)
      return { kind: 'wait', reason: `member ${otherLearner.name || otherLearner.id} is still joining as a learner` };
    return { kind: 'join', removals: rm, reuseMemberId: reuse?.id };
  }

  if (!o.discovery.reachable)
    return { kind: 'wait', reason: 'neither the cluster nor the discovery service is reachable' };
  const d = o.discovery;
  if (d.size === undefined) return { kind: 'wait', reason: 'the discovery registry has no size key yet' };
  const alive = d.heartbeats.length > 0 || o.cluster.anyAlive;
  const others = d.registrations.filter((r) => r.name !== self.name);
  const full = others.length >= d.size;
  if (d.clusterFormed || full) {
    if (alive)
      return { kind: 'wait', reason: `a cluster exists (${d.heartbeats.length} heartbeats) but is not reachable yet` };
    if (o.quietForMs >= o.rebuildGraceMs) {
      return {
        kind: 'rebuild',
        reason:
          `no member alive for ${Math.round(o.quietForMs / 1000)} s ` +
          `and the registry is ${d.clusterFormed ? 'used' : 'full'}`,
      };
    }
    return {
      kind: 'wait',
      reason: `no member alive; rebuilding if that lasts ${Math.round(o.rebuildGraceMs / 1000)} s`,
    };
  }
  if (o.cluster.anyAlive) {
    // members answer but gave no member list (an election, a lost quorum): a cluster exists even though
    // the registry does not say so (discovery lost it: an emptyDir); never bootstrap a second one
    return { kind: 'wait', reason: 'members answer but the cluster has no leader yet; not bootstrapping beside it' };
  }
  if (d.size !== o.configuredSize) {
    return {
      kind: 'fail',
      reason:
        `the cluster size is ${o.configuredSize} here but ${d.size} in the discovery registry: ` +
        'give both programs the same DEIS_ETCD_CLUSTER_SIZE',
    };
  }
  const stale = d.registrations.filter(
    (r) => r.name === self.name && !(r.peerUrls.length === 1 && r.peerUrls[0] === self.peerUrl),
  );
  return { kind: 'bootstrap', dropRegistrations: stale.map((r) => r.id) };
}
