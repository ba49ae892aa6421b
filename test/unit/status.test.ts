// `deis-etcd status`: the pure verdict and differences over one look (rows of looks), the table and
// the exit codes, and the collector over a fake cluster API answering like etcd's JSON gateway.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { look } from '../../internal/status/collect.ts';
import { exitOf, hexId, renderTable, report, type Look, type PodLook } from '../../internal/status/report.ts';
import { statusErrorExit, statusErrorLine } from '../../internal/status/run.ts';
import { validateStatus } from '../../internal/config/status.ts';
import { DeisError } from '../../internal/errors.ts';
import type { ClusterApi, ClusterPod, ProxyReply } from '../../internal/k8s/cluster.ts';

const pod = (i: number, over: Partial<PodLook> = {}): PodLook => ({
  name: `deis-etcd-${i}`,
  ip: `127.10.0.${i + 1}`,
  ready: true,
  phase: 'Running',
  health: { ok: true, reason: '' },
  status: {
    memberId: String(100 + i),
    leader: '100',
    raftIndex: 50 - i,
    dbSize: 20480,
    dbSizeInUse: 16384,
    version: '3.6.16',
    isLearner: false,
    errors: [],
  },
  ...over,
});
const member = (i: number, learner = false) => ({
  id: String(100 + i),
  name: `deis-etcd-${i}`,
  isLearner: learner,
  clientUrls: [],
});
const base = (over: Partial<Look> = {}): Look => ({
  namespace: 'ns',
  replicas: 3,
  pods: [pod(0), pod(1), pod(2)],
  members: [member(0), member(1), member(2)],
  alarms: [],
  registry: { heartbeats: { 'deis-etcd-0': '2026-11-30T10:00:00Z' }, registrations: [] },
  now: Date.parse('2026-11-30T10:00:04Z'),
  ...over,
});
const unanswered = (i: number) => pod(i, { health: undefined, status: undefined, error: 'no answer within 5000 ms' });

const rows: { name: string; look: Look; verdict: string; problems?: RegExp }[] = [
  { name: 'three healthy voters, one leader', look: base(), verdict: 'healthy' },
  {
    name: 'one member paused: degraded, named',
    look: base({ pods: [pod(0), unanswered(1), pod(2)] }),
    verdict: 'degraded',
    problems: /deis-etcd-1: not healthy \(no answer/,
  },
  {
    name: 'two of three paused: down',
    look: base({
      pods: [
        pod(0, { health: { ok: false, reason: 'RAFT NO LEADER' }, status: { ...pod(0).status!, leader: '0' } }),
        unanswered(1),
        unanswered(2),
      ],
    }),
    verdict: 'down',
    problems: /no quorum: 0 of 3 voters healthy \(2 needed\), no leader/,
  },
  {
    name: 'no member answers at all: down',
    look: base({ pods: [unanswered(0)], members: undefined }),
    verdict: 'down',
  },
  {
    name: 'a learner catching up: degraded',
    look: base({
      pods: [pod(0), pod(1), pod(2), pod(3, { status: { ...pod(3).status!, isLearner: true } })],
      members: [member(0), member(1), member(2), member(3, true)],
      replicas: 4,
    }),
    verdict: 'degraded',
    problems: /member deis-etcd-3 is a learner/,
  },
  {
    name: 'a member without its pod and a pod without a member: degraded',
    look: base({
      pods: [pod(0), pod(1), pod(3, { status: undefined, health: undefined })],
      members: [member(0), member(1), member(2)],
    }),
    verdict: 'degraded',
    problems: /member deis-etcd-2 has no pod; pod deis-etcd-3 has no member/,
  },
  {
    name: 'an alarm: degraded',
    look: base({ alarms: [{ memberId: '101', alarm: 'NOSPACE' }] }),
    verdict: 'degraded',
    problems: /alarm NOSPACE on member 65/,
  },
  {
    name: 'stale registrations are listed but do not degrade',
    look: base({ registry: { heartbeats: {}, registrations: [{ id: '999', name: 'deis-etcd-1' }] } }),
    verdict: 'healthy',
  },
];
for (const r of rows) {
  test(`verdict: ${r.name}`, () => {
    const got = report(r.look);
    assert.is(got.verdict, r.verdict, got.problems.join('; '));
    if (r.problems) assert.match(got.problems.join('; '), r.problems);
    else if (r.verdict === 'healthy') assert.equal(got.problems, []);
  });
}

test('report: roles, lag, heartbeat age and the differences', () => {
  const r = report(
    base({
      registry: { heartbeats: { 'deis-etcd-0': '2026-11-30T10:00:00Z' }, registrations: [{ id: '999', name: 'old' }] },
    }),
  );
  assert.equal(
    r.rows.map((x) => [x.pod, x.memberId, x.role, x.lag, x.heartbeatAgeS]),
    [
      ['deis-etcd-0', '64', 'leader', 0, 4],
      ['deis-etcd-1', '65', 'follower', 1, undefined],
      ['deis-etcd-2', '66', 'follower', 2, undefined],
    ],
  );
  assert.equal(r.differences.staleRegistrations, ['old 3e7']);
  const table = renderTable(r);
  assert.match(
    table,
    /^POD +IP +MEMBER +ROLE +HEALTHY +RAFT INDEX +LAG +DB SIZE +IN USE +ALARMS +VERSION +HEARTBEAT$/m,
  );
  assert.match(table, /^deis-etcd-0 +127\.10\.0\.1 +64 +leader +yes +50 +0 +20 KiB +16 KiB +- +3\.6\.16 +4s ago$/m);
  assert.match(table, /^stale registrations: old 3e7$/m);
  assert.match(table, /^ns: healthy$/m);
});

test('exit codes: verdicts 0/1/2; errors 3 (input), 4 (unreachable), 5 (forbidden)', () => {
  assert.equal([exitOf('healthy'), exitOf('degraded'), exitOf('down')], [0, 1, 2]);
  assert.is(statusErrorExit(new DeisError('config', 'x')), 3);
  assert.is(statusErrorExit(new DeisError('environment', 'x')), 3);
  assert.is(statusErrorExit(new DeisError('unreachable', 'x')), 4);
  assert.is(statusErrorExit(new DeisError('forbidden', 'x')), 5);
  assert.is(statusErrorExit(new Error('x')), 3);
  assert.is(hexId('18446744073709551615'), 'ffffffffffffffff');
});

test('an error is one line: our message without its multi-line cause', () => {
  const cause = new Error('HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: {...}');
  const line = statusErrorLine(new DeisError('forbidden', 'the Kubernetes API refused to list pods', { cause }));
  assert.is(line, 'deis-etcd status: the Kubernetes API refused to list pods\n');
  assert.is(statusErrorLine(new Error('a\nb')), 'deis-etcd status: a b\n');
});

test('config: bad output and selector are one config error naming both', () => {
  assert.throws(
    () => validateStatus({ output: { value: 'yaml', source: '-o' }, selector: { value: 'x', source: '--selector' } }),
    (e: unknown) =>
      e instanceof DeisError && e.code === 'config' && /-o/.test(e.message) && /--selector/.test(e.message),
  );
});

/** A cluster API whose pods answer like etcd's gateway (decimal uint64 strings, camelCase fields). */
function fakeApi(
  pods: ClusterPod[],
  replies: Record<string, (body: unknown) => ProxyReply | Error>,
  notProxyable = false,
): ClusterApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    namespace: 'ns',
    identity: 'context test',
    inCluster: false,
    calls,
    listPods: async (sel) => (sel.includes('discovery') ? [] : pods),
    statefulSetReplicas: async () => (pods.length ? 3 : undefined),
    secretKey: async () => undefined,
    async proxy(p, port, path, body) {
      calls.push(`${p}:${port}${path}`);
      if (notProxyable)
        throw new DeisError('environment', `the API server does not proxy to pod ${p}'s address`, {
          reason: 'not-proxyable',
        });
      const r = replies[`${p}${path}`]?.(body) ?? new Error('no answer within 5000 ms');
      if (r instanceof Error)
        throw new DeisError('unreachable', `${p}:${port}${path} through the API server: ${r.message}`);
      return r;
    },
  };
}
const ok = (o: unknown) => () => ({ status: 200, body: JSON.stringify(o) });
const opts = {
  selector: 'a=b',
  statefulSet: 'deis-etcd',
  clientPort: 2379,
  discoverySelector: 'a=discovery',
  discoveryPort: 2381,
  tokenSecret: 't',
  timeoutMs: 5000,
  via: 'auto' as const,
};
const noDirect = async (): Promise<ProxyReply> => {
  throw new Error('direct HTTP not expected');
};

test('collect: gateway JSON becomes a look; an unanswering pod carries why', async () => {
  const pods: ClusterPod[] = [0, 1].map((i) => ({
    name: `deis-etcd-${i}`,
    ip: `127.0.0.${i}`,
    ready: true,
    deleting: false,
    phase: 'Running',
  }));
  const api = fakeApi(pods, {
    'deis-etcd-0/health': ok({ health: 'true', reason: '' }),
    'deis-etcd-0/v3/maintenance/status': ok({
      header: { cluster_id: '1', member_id: '100' },
      version: '3.6.16',
      dbSize: '4096',
      leader: '100',
      raftIndex: '9',
      dbSizeInUse: '2048',
    }),
    'deis-etcd-0/v3/cluster/member/list': ok({
      members: [
        { ID: '100', name: 'deis-etcd-0' },
        { ID: '101', name: 'deis-etcd-1', isLearner: true },
      ],
    }),
    'deis-etcd-0/v3/maintenance/alarm': ok({ alarms: [{ memberID: '100', alarm: 'NOSPACE' }] }),
  });
  const l = await look(api, opts, noDirect, () => 0);
  assert.equal(l.pods[0]!.status, {
    memberId: '100',
    leader: '100',
    raftIndex: 9,
    dbSize: 4096,
    dbSizeInUse: 2048,
    version: '3.6.16',
    isLearner: false,
    errors: [],
  });
  assert.equal(
    l.members!.map((m) => [m.id, m.isLearner]),
    [
      ['100', false],
      ['101', true],
    ],
  );
  assert.equal(l.alarms, [{ memberId: '100', alarm: 'NOSPACE' }]);
  assert.is(l.pods[1]!.error, 'no answer within 5000 ms');
  assert.match(l.registryError ?? '', /no token in Secret t/);
});

test('collect: a namespace with no member pods and no StatefulSet is one config error naming it', async () => {
  await look(fakeApi([], {}), opts, noDirect, () => 0).then(
    () => assert.unreachable('should fail'),
    (e: unknown) => {
      assert.ok(e instanceof DeisError && e.code === 'config');
      assert.match((e as Error).message, /no deis-etcd cluster in namespace ns.*pass -n NAMESPACE/);
    },
  );
});

test('collect: auto goes direct to pod IPs the API server will not proxy to; proxy says why in one error', async () => {
  const pods: ClusterPod[] = [
    { name: 'deis-etcd-0', ip: '127.10.0.2', ready: true, deleting: false, phase: 'Running' },
  ];
  const urls: string[] = [];
  const direct = async (url: string): Promise<ProxyReply> => {
    urls.push(url);
    if (url.endsWith('/health')) return { status: 200, body: '{"health":"true","reason":""}' };
    if (url.endsWith('/status'))
      return { status: 200, body: '{"header":{"member_id":"7"},"leader":"7","raftIndex":"3"}' };
    if (url.endsWith('/member/list')) return { status: 200, body: '{"members":[{"ID":"7","name":"deis-etcd-0"}]}' };
    return { status: 200, body: '{}' };
  };
  const auto = await look(fakeApi(pods, {}, true), opts, direct, () => 0);
  assert.is(report(auto).verdict, 'degraded', 'healthy member, but 1 pod for 3 replicas');
  assert.ok(urls.includes('http://127.10.0.2:2379/health'), urls.join(' '));
  assert.is(auto.pods[0]!.status?.memberId, '7');
  await look(fakeApi(pods, {}, true), { ...opts, via: 'proxy' }, direct, () => 0).then(
    () => assert.unreachable('proxy only must fail'),
    (e: unknown) => assert.match(String(e), /does not proxy to pod deis-etcd-0/),
  );
});

test('collect with TLS and auth: https straight to the pods, one token, carried by the gateway calls only', async () => {
  const pods: ClusterPod[] = [0, 1].map((i) => ({
    name: `deis-etcd-${i}`,
    ip: `127.10.0.${i + 2}`,
    ready: true,
    deleting: false,
    phase: 'Running',
  }));
  const seen: string[] = [];
  const direct = async (url: string, body: unknown, _ms: number, headers?: Record<string, string>) => {
    const path = new URL(url).pathname;
    seen.push(`${url} ${headers?.Authorization ?? '-'}`);
    if (path === '/v3/auth/authenticate') {
      assert.equal(body, { name: 'root', password: 'pw' });
      return { status: 200, body: '{"token":"tok.1"}' };
    }
    if (path === '/health') return { status: 200, body: '{"health":"true","reason":""}' };
    if (headers?.Authorization !== 'tok.1')
      return { status: 401, body: '{"message":"etcdserver: user name is empty"}' };
    if (path.endsWith('/status'))
      return { status: 200, body: '{"header":{"member_id":"7"},"leader":"7","raftIndex":"3"}' };
    if (path.endsWith('/member/list')) return { status: 200, body: '{"members":[{"ID":"7","name":"deis-etcd-0"}]}' };
    return { status: 200, body: '{}' };
  };
  const secure = { ...opts, tls: true, auth: { username: 'root', password: 'pw' } };
  const l = await look(fakeApi(pods, {}), secure, direct, () => 0);
  assert.ok(
    seen.every((u) => u.startsWith('https://127.10.0.')),
    seen.join('\n'),
  );
  assert.is(seen.filter((u) => u.includes('/v3/auth/authenticate')).length, 1, 'one token for every pod');
  assert.ok(seen.filter((u) => u.includes('/v3/maintenance/status')).every((u) => u.endsWith(' tok.1')));
  assert.ok(
    seen.filter((u) => u.includes('/health')).every((u) => u.endsWith(' -')),
    '/health needs no user',
  );
  assert.equal(
    l.pods.map((p) => [p.error, p.status?.memberId]),
    [
      [undefined, '7'],
      [undefined, '7'],
    ],
  );
  await look(fakeApi(pods, {}), { ...secure, via: 'proxy' }, direct, () => 0).then(
    () => assert.unreachable('TLS through the pod proxy must fail'),
    (e: unknown) => {
      assert.ok(e instanceof DeisError && e.code === 'config');
      assert.match(String(e), /pod proxy presents none: use --via direct/);
    },
  );
});

test('config: --cacert, --cert and --key go together', () => {
  const raw = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));
  assert.throws(
    () => validateStatus(raw({ cacert: 'ca.crt' })),
    (e: unknown) => e instanceof DeisError && /--cacert, --cert and --key go together/.test(e.message),
  );
  const files = validateStatus(raw({ cacert: 'a', cert: 'b', key: 'c' })).tlsFiles;
  assert.equal(files, { ca: 'a', cert: 'b', key: 'c' });
});

test.run();
