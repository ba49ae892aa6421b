// A fake etcd cluster for unit tests: members with health and learner flags, a leader, a key space,
// and errors queued per call. connect() hands out EtcdApi clients over it; fetch() answers /health
// for the client URLs of healthy members. It models what boot relies on, nothing more.
import type { Alarm, EtcdApi, Member, Status } from '../../internal/etcd/client.ts';
import { DeisError, type EtcdReason } from '../../internal/errors.ts';
import type { Fetch } from '../../internal/runtime.ts';

export interface FakeMember extends Member {
  healthy: boolean;
  /** A learner caught up with the leader (etcd then accepts its promotion); defaults to `healthy`. */
  inSync?: boolean;
  /** Its applied index, as its metrics listener reports it; undefined: the listener does not answer. */
  applied?: number;
  /** Its database file's size and the part in use (defragmenting makes them equal); default 1 MiB each. */
  dbSize?: number;
  dbSizeInUse?: number;
}
type Method = Exclude<keyof EtcdApi, 'close' | 'lease' | 'withLock'>;

const MIB = 1024 * 1024;

export class FakeCluster {
  clusterId = 'c1';
  leader = '';
  members: FakeMember[] = [];
  kv = new Map<string, { value: string; rev: number }>();
  rev = 0;
  /** Locks another process holds: withLock on them fails as etcd3's lock does (at once). */
  heldLocks = new Set<string>();
  /** Raised alarms (the maintenance pass clears them). */
  alarms: Alarm[] = [];
  /** Every mutating call, in order, e.g. "remove 3". */
  calls: string[] = [];
  /** etcd's authentication: on or off, and the users made (root's password, others' password and prefix). */
  auth = { enabled: false, users: new Map<string, { password: string; prefix?: string }>() };
  /** Runs after a promotion is committed (e.g. a learner stuck publishing becomes healthy). */
  onPromote: ((m: FakeMember) => void) | undefined;
  private errors = new Map<Method, DeisError[]>();
  private nextId = 100;

  /** A started member at 127.0.0.<n> named etcd-<n-1>. */
  addMember(n: number, opts: Partial<FakeMember> = {}): FakeMember {
    const m: FakeMember = {
      id: String(n),
      name: `etcd-${n - 1}`,
      peerUrls: [`http://127.0.0.${n}:2380`],
      clientUrls: [`http://127.0.0.${n}:2379`],
      isLearner: false,
      healthy: true,
      ...opts,
    };
    this.members.push(m);
    if (!this.leader && !m.isLearner && m.healthy) this.leader = m.id;
    return m;
  }

  /** The next calls of `method` fail with these errors, in order. */
  fail(method: Method, ...errs: DeisError[]): void {
    this.errors.set(method, [...(this.errors.get(method) ?? []), ...errs]);
  }

  private check(method: Method): void {
    const e = this.errors.get(method)?.shift();
    if (e) throw e;
  }

  private quorum(): boolean {
    const voters = this.members.filter((m) => !m.isLearner);
    return voters.filter((m) => m.healthy).length > voters.length / 2;
  }

  private byUrl(url: string): FakeMember | undefined {
    return this.members.find((m) => m.clientUrls.includes(url));
  }

  /** A client over the cluster; it answers only when one of its endpoints is a healthy member. */
  connect = (endpoints: string[]): EtcdApi => {
    const c = this;
    const reach = (what: Method) => {
      c.check(what);
      if (!endpoints.some((u) => c.byUrl(u)?.healthy))
        throw new DeisError('unreachable', `${what}: no endpoint answers`, { retryable: true });
      if (!c.quorum() && what !== 'status')
        throw new DeisError('unreachable', `${what}: etcdserver: no leader`, { retryable: true, reason: 'no-leader' });
    };
    const plain = (m: FakeMember): Member => ({
      id: m.id,
      name: m.name,
      peerUrls: [...m.peerUrls],
      clientUrls: [...m.clientUrls],
      isLearner: m.isLearner,
    });
    const membership = (reason: EtcdReason, msg: string, retryable = false) =>
      new DeisError('membership', msg, { reason, retryable });
    return {
      async memberList(opts) {
        reach(opts?.local ? 'status' : 'memberList');
        return { clusterId: c.clusterId, members: c.members.map(plain) };
      },
      async memberAdd(peerUrls, learner) {
        reach('memberAdd');
        if (learner && c.members.some((m) => m.isLearner))
          throw membership('too-many-learners', 'too many learners', true);
        const m: FakeMember = {
          id: String(c.nextId++),
          name: '',
          peerUrls,
          clientUrls: [],
          isLearner: learner,
          healthy: false,
        };
        c.members.push(m);
        c.calls.push(`add ${m.id}`);
        return { member: plain(m), members: c.members.map(plain) };
      },
      async memberRemove(id) {
        reach('memberRemove');
        if (!c.members.some((m) => m.id === id)) throw membership('member-not-found', 'member not found');
        c.members = c.members.filter((m) => m.id !== id);
        c.calls.push(`remove ${id}`);
      },
      async memberPromote(id) {
        reach('memberPromote');
        const m = c.members.find((x) => x.id === id);
        if (!m) throw membership('member-not-found', 'member not found');
        if (!m.isLearner) throw membership('not-a-learner', 'can only promote a learner member');
        if (!(m.inSync ?? m.healthy)) throw membership('learner-not-ready', 'learner not in sync', true);
        m.isLearner = false;
        c.calls.push(`promote ${id}`);
        c.onPromote?.(m);
      },
      async memberUpdate(id, peerUrls) {
        reach('memberUpdate');
        const m = c.members.find((x) => x.id === id);
        if (!m) throw membership('member-not-found', 'member not found');
        m.peerUrls = peerUrls;
        c.calls.push(`update ${id}`);
      },
      async status(endpoint): Promise<Status> {
        c.check('status');
        const m = c.byUrl(endpoint);
        if (!m?.healthy) throw new DeisError('unreachable', `status of ${endpoint}: no answer`, { retryable: true });
        return {
          memberId: m.id,
          clusterId: c.clusterId,
          leader: c.quorum() ? c.leader : '0',
          isLearner: m.isLearner,
          raftIndex: m.applied ?? 1,
          raftAppliedIndex: m.applied ?? 1,
          version: '3.6.16',
          revision: c.rev,
          dbSize: m.dbSize ?? MIB,
          dbSizeInUse: m.dbSizeInUse ?? m.dbSize ?? MIB,
        };
      },
      async compact(revision) {
        reach('compact');
        c.calls.push(`compact ${revision}`);
      },
      async defragment(endpoint) {
        c.check('defragment');
        const m = c.byUrl(endpoint);
        if (!m?.healthy) throw new DeisError('unreachable', `defragment ${endpoint}: no answer`, { retryable: true });
        m.dbSize = m.dbSizeInUse ?? m.dbSize;
        c.calls.push(`defrag ${m.id}`);
      },
      async *snapshot(endpoint) {
        c.check('snapshot');
        const m = c.byUrl(endpoint);
        if (!m?.healthy) throw new DeisError('unreachable', `snapshot of ${endpoint}: no answer`, { retryable: true });
        c.calls.push(`snapshot ${m.id}`);
        yield new TextEncoder().encode(JSON.stringify([...c.kv]));
      },
      async alarms() {
        reach('alarms');
        return c.alarms.map((a) => ({ ...a }));
      },
      async disarm(a) {
        reach('disarm');
        c.alarms = c.alarms.filter((x) => !(x.memberId === a.memberId && x.alarm === a.alarm));
        c.calls.push(`disarm ${a.memberId} ${a.alarm}`);
      },
      async moveLeader(target) {
        reach('moveLeader');
        c.leader = target;
        c.calls.push(`move-leader ${target}`);
      },
      async get(key) {
        reach('get');
        const v = c.kv.get(key);
        return v && { key, value: v.value, createRevision: v.rev, lease: '0' };
      },
      async getPrefix(prefix) {
        reach('getPrefix');
        return [...c.kv]
          .filter(([k]) => k.startsWith(prefix))
          .map(([key, v]) => ({ key, value: v.value, createRevision: v.rev, lease: '0' }));
      },
      async put(key, value) {
        reach('put');
        c.kv.set(key, { value, rev: ++c.rev });
      },
      async putIfAbsent(key, value) {
        reach('putIfAbsent');
        if (c.kv.has(key)) return false;
        c.kv.set(key, { value, rev: ++c.rev });
        return true;
      },
      async delete(key) {
        reach('delete');
        c.kv.delete(key);
      },
      async deletePrefix(prefix) {
        reach('deletePrefix');
        const keys = [...c.kv.keys()].filter((k) => k.startsWith(prefix));
        for (const k of keys) c.kv.delete(k);
        return keys.length;
      },
      lease() {
        return {
          grant: async () => '1',
          put: async (key, value) => {
            c.kv.set(key, { value, rev: ++c.rev });
          },
          revoke: async () => undefined,
        };
      },
      async withLock(key, _ttl, fn) {
        if (c.heldLocks.has(key))
          throw new DeisError('conflict', `lock ${key}: held`, { reason: 'lock-failed', retryable: true });
        c.calls.push(`lock ${key}`);
        return fn();
      },
      async enableAuth(password) {
        reach('enableAuth');
        if (c.auth.enabled) return false;
        if (!c.auth.users.has('root')) c.auth.users.set('root', { password });
        c.auth.enabled = true;
        c.calls.push('auth enable');
        return true;
      },
      async ensureUser(user, password, prefix) {
        reach('ensureUser');
        c.auth.users.set(user, { password, prefix });
        c.calls.push(`user ${user} ${prefix}`);
      },
      close() {
        /* nothing held */
      },
    };
  };

  /**
   * Answers GET <clientUrl>/health like etcd (200 {"health":"true"} for a healthy member) and
   * GET http://<member host>:2381/metrics with its applied index.
   */
  fetch: Fetch = async (url) => {
    const metrics = /^http:\/\/([^/]+):2381\/metrics$/.exec(url);
    if (metrics) {
      const m = this.members.find((x) => x.peerUrls.some((u) => new URL(u).hostname === metrics[1]));
      if (!m || m.applied === undefined) throw new TypeError('fetch failed');
      return new Response(
        `# TYPE etcd_server_proposals_applied_total gauge\netcd_server_proposals_applied_total ${m.applied}\n`,
      );
    }
    const m = this.byUrl(url.replace(/\/health$/, ''));
    if (!m?.healthy) throw new TypeError('fetch failed');
    return new Response(JSON.stringify({ health: String(this.quorum()) }), { status: this.quorum() ? 200 : 503 });
  };
}
