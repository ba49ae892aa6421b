// PURE: what `deis-etcd status` concludes from one look at the cluster (collect.ts gathers it): one
// row per pod or member, the differences between pods, members and the discovery registry, and the
// verdict: healthy (exit 0), degraded (1: a quorum, but something is off), down (2: no quorum).

/** What one member pod answered through the API server's pod proxy (undefined: no answer). */
export interface PodLook {
  name: string;
  ip: string | undefined;
  ready: boolean;
  phase: string;
  /** GET /health: etcd's own verdict. */
  health?: { ok: boolean; reason: string };
  /** POST /v3/maintenance/status. */
  status?: {
    memberId: string;
    leader: string;
    raftIndex: number;
    dbSize: number;
    dbSizeInUse: number;
    version: string;
    isLearner: boolean;
    errors: string[];
  };
  /** Why the pod did not answer, when it did not. */
  error?: string;
}

export interface MemberLook {
  id: string;
  name: string;
  isLearner: boolean;
  clientUrls: string[];
}

export interface Look {
  namespace: string;
  replicas: number | undefined;
  pods: PodLook[];
  /** From the first member that answered; undefined when none did. */
  members: MemberLook[] | undefined;
  alarms: { memberId: string; alarm: string }[];
  /** Heartbeats by member name (ISO time), and etcd discovery registrations; undefined: registry not read. */
  registry?: { heartbeats: Record<string, string>; registrations: { id: string; name: string }[] };
  /** Why the registry was not read. */
  registryError?: string;
  now: number;
}

export type Role = 'leader' | 'follower' | 'learner' | '-';
export type Verdict = 'healthy' | 'degraded' | 'down';

export interface Row {
  pod: string;
  ip: string;
  memberId: string;
  role: Role;
  healthy: boolean;
  raftIndex: number | undefined;
  lag: number | undefined;
  dbSize: number | undefined;
  dbSizeInUse: number | undefined;
  alarms: string[];
  version: string;
  /** Seconds since the member's last heartbeat in the registry; undefined when unknown. */
  heartbeatAgeS: number | undefined;
  error?: string;
}

export interface Report {
  namespace: string;
  verdict: Verdict;
  rows: Row[];
  differences: {
    membersWithoutPod: string[];
    podsWithoutMember: string[];
    learners: string[];
    staleRegistrations: string[];
  };
  /** One line per thing that makes the verdict what it is (empty when healthy). */
  problems: string[];
  registryError?: string;
}

/** Member IDs as etcdctl prints them: hex. The gateway sends uint64s as decimal strings. */
export const hexId = (decimal: string): string => {
  try {
    return BigInt(decimal).toString(16);
  } catch {
    return decimal;
  }
};

export function report(l: Look): Report {
  const members = l.members ?? [];
  const byName = new Map(members.map((m) => [m.name, m]));
  const podNames = new Set(l.pods.map((p) => p.name));
  const leaderId = l.pods.map((p) => p.status?.leader).find((x) => x && x !== '0');
  const leaderIndex = l.pods.find((p) => p.status && p.status.memberId === leaderId)?.status?.raftIndex;
  const alarmsOf = (id: string | undefined) => l.alarms.filter((a) => a.memberId === id).map((a) => a.alarm);
  const age = (name: string) => {
    const at = l.registry?.heartbeats[name];
    return at === undefined ? undefined : Math.max(0, Math.round((l.now - Date.parse(at)) / 1000));
  };
  const rows: Row[] = l.pods.map((p) => {
    const m = byName.get(p.name);
    const id = p.status?.memberId ?? m?.id;
    const learner = p.status?.isLearner ?? m?.isLearner ?? false;
    const role: Role = !id ? '-' : learner ? 'learner' : id === leaderId ? 'leader' : p.status ? 'follower' : '-';
    return {
      pod: p.name,
      ip: p.ip ?? '',
      memberId: id ? hexId(id) : '',
      role,
      healthy: !!p.health?.ok && !!p.status,
      raftIndex: p.status?.raftIndex,
      lag: p.status && leaderIndex !== undefined ? Math.max(0, leaderIndex - p.status.raftIndex) : undefined,
      dbSize: p.status?.dbSize,
      dbSizeInUse: p.status?.dbSizeInUse,
      alarms: alarmsOf(id),
      version: p.status?.version ?? '',
      heartbeatAgeS: age(p.name),
      ...(p.error ? { error: p.error } : p.health && !p.health.ok ? { error: p.health.reason || 'unhealthy' } : {}),
    };
  });
  for (const m of members.filter((x) => !podNames.has(x.name))) {
    rows.push({
      pod: m.name ? `(${m.name})` : '(unstarted)',
      ip: '',
      memberId: hexId(m.id),
      role: m.isLearner ? 'learner' : '-',
      healthy: false,
      raftIndex: undefined,
      lag: undefined,
      dbSize: undefined,
      dbSizeInUse: undefined,
      alarms: alarmsOf(m.id),
      version: '',
      heartbeatAgeS: age(m.name),
      error: 'no pod',
    });
  }
  const ids = new Set(members.map((m) => m.id));
  const differences = {
    membersWithoutPod: members.filter((m) => !podNames.has(m.name)).map((m) => m.name || hexId(m.id)),
    podsWithoutMember: l.members ? l.pods.filter((p) => !byName.has(p.name)).map((p) => p.name) : [],
    learners: members.filter((m) => m.isLearner).map((m) => m.name || hexId(m.id)),
    staleRegistrations: (l.registry?.registrations ?? [])
      .filter((r) => !ids.has(r.id))
      .map((r) => `${r.name} ${hexId(r.id)}`),
  };

  const problems: string[] = [];
  const voters = members.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => rows.find((r) => r.pod === m.name)?.healthy);
  const quorum = Math.floor(voters.length / 2) + 1;
  let verdict: Verdict = 'healthy';
  if (!l.members) {
    verdict = 'down';
    problems.push(
      l.pods.some((p) => p.status) ? 'no quorum: no member listed the members' : 'no quorum: no member answered',
    );
  } else if (!leaderId || healthyVoters.length < quorum) {
    verdict = 'down';
    problems.push(
      `no quorum: ${healthyVoters.length} of ${voters.length} voters healthy (${quorum} needed)` +
        (leaderId ? '' : ', no leader'),
    );
  }
  for (const r of rows.filter((x) => !x.healthy && x.error !== 'no pod'))
    problems.push(`${r.pod}: not healthy (${r.error ?? 'unknown'})`);
  for (const n of differences.membersWithoutPod) problems.push(`member ${n} has no pod`);
  for (const n of differences.podsWithoutMember) problems.push(`pod ${n} has no member`);
  for (const n of differences.learners) problems.push(`member ${n} is a learner`);
  for (const a of l.alarms) problems.push(`alarm ${a.alarm} on member ${hexId(a.memberId)}`);
  if (l.replicas !== undefined && l.pods.length !== l.replicas)
    problems.push(`${l.pods.length} member pods for ${l.replicas} replicas`);
  if (verdict === 'healthy' && problems.length) verdict = 'degraded';
  return {
    namespace: l.namespace,
    verdict,
    rows,
    differences,
    problems,
    ...(l.registryError ? { registryError: l.registryError } : {}),
  };
}

/** The exit code of a verdict. */
export const exitOf = (v: Verdict): number => ({ healthy: 0, degraded: 1, down: 2 })[v];

const bytes = (n: number | undefined) => {
  if (n === undefined) return '-';
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
};
const dash = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));

/** The human table, then the differences and the verdict line. */
export function renderTable(r: Report): string {
  const head = [
    'POD',
    'IP',
    'MEMBER',
    'ROLE',
    'HEALTHY',
    'RAFT INDEX',
    'LAG',
    'DB SIZE',
    'IN USE',
    'ALARMS',
    'VERSION',
    'HEARTBEAT',
  ];
  const cells = r.rows.map((x) => [
    x.pod,
    dash(x.ip),
    dash(x.memberId),
    x.role,
    x.healthy ? 'yes' : `no${x.error ? ` (${x.error})` : ''}`,
    dash(x.raftIndex),
    dash(x.lag),
    bytes(x.dbSize),
    bytes(x.dbSizeInUse),
    x.alarms.join(',') || '-',
    dash(x.version),
    x.heartbeatAgeS === undefined ? '-' : `${x.heartbeatAgeS}s ago`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...cells.map(line), ''];
  const d = r.differences;
  const list = (label: string, xs: string[]) => out.push(`${label}: ${xs.length ? xs.join(', ') : 'none'}`);
  list('members without pod', d.membersWithoutPod);
  list('pods without member', d.podsWithoutMember);
  list('learners', d.learners);
  list('stale registrations', d.staleRegistrations);
  if (r.registryError) out.push(`heartbeats: unknown (${r.registryError})`);
  out.push('');
  out.push(`${r.namespace}: ${r.verdict}${r.problems.length ? `: ${r.problems.join('; ')}` : ''}`);
  return `${out.join('\n')}\n`;
}
