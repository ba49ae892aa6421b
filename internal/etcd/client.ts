// The adapter over the etcd3 library: membership (list/add/remove/promote/update), status, leader
// moves, plain KV with create-if-absent, leases and locks. It returns plain snapshots with member IDs
// in hex (as etcdctl and the discovery registry print them) and turns every library error into a
// DeisError in one place ({@link translate}). Nothing else in the project imports etcd3.
import * as etcd3 from 'etcd3';
import { noop } from 'cockatiel';
import { DeisError, isReason } from '../errors.ts';
import { decId, hexId, timeout, type EtcdApi, type EtcdClientOptions, type Member } from './api.ts';
import { authApi } from './auth.ts';
import { maintenanceApi } from './maintenance.ts';
import { translate } from './errors.ts';

export { translate } from './errors.ts';

export * from './api.ts';

function toMember(m: etcd3.IMember): Member {
  return {
    id: hexId(m.ID),
    name: m.name,
    peerUrls: m.peerURLs ?? [],
    clientUrls: m.clientURLs ?? [],
    isLearner: !!m.isLearner,
  };
}

/**
 * With authentication on, a learner refuses Authenticate (only a few RPCs serve before promotion), so
 * its status cannot be read as a user until it is promoted: retryable, not a fatal 'learner-rpc'.
 */
async function learnerAware<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (!isReason(err, 'learner-rpc')) throw err;
    throw new DeisError(
      'unreachable',
      `${(err as Error).message}: a learner answers no authenticated call until promoted`,
      {
        cause: err,
        retryable: true,
        reason: 'learner-rpc',
      },
    );
  }
}

/**
 * Makes an etcd3 client authenticate again on its next call. etcd3 does so by itself after "invalid
 * auth token" but not after "revision of auth store is old" (a user or role changed since the token
 * was issued), where etcd's Go client does (microsoft/etcd3#198). etcd3 1.1 keeps the token in its
 * connection pool's authenticator; false when that shape is gone (then the error stands).
 */
export function forgetToken(c: etcd3.Etcd3): boolean {
  type Pool = { authenticator?: { invalidateMetadata?: () => void } };
  const authenticator = (c as unknown as { pool?: Pool }).pool?.authenticator;
  if (typeof authenticator?.invalidateMetadata !== 'function') return false;
  authenticator.invalidateMetadata();
  return true;
}

/** How many times a call is retried at once after "revision of auth store is old". */
const AUTH_CHANGE_RETRIES = 3;

/** etcd asks for a user: authentication was enabled since this client last found it off. */
const isAuthAsked = (err: unknown) => isReason(err, 'auth-required') || isReason(err, 'permission-denied');

/** An EtcdApi over the etcd3 client for the given client URLs. */
export function connectEtcd(opts: EtcdClientOptions): EtcdApi {
  const ms = opts.timeoutMs ?? 5000;
  const dial = opts.dialTimeoutMs ?? 2000;
  // etcd3's own retries and per-host circuit breakers are off: an 'unhealthy cluster' answer while a
  // member catches up would open the breaker for seconds; our callers retry with back-off instead.
  const faultHandling = { host: () => noop, global: noop };
  const credentials = opts.tls && {
    rootCertificate: Buffer.from(opts.tls.ca),
    certChain: Buffer.from(opts.tls.cert),
    privateKey: Buffer.from(opts.tls.key),
  };
  const base = { dialTimeout: dial, faultHandling, ...(credentials ? { credentials } : {}) };
  // With a user: calls authenticate, except while etcd's authentication is not enabled yet (a new
  // cluster until its bootstrapping member enables it): then they go without, until etcd asks for a user.
  const anon = new etcd3.Etcd3({ hosts: opts.endpoints, ...base });
  const authed = opts.auth && new etcd3.Etcd3({ hosts: opts.endpoints, ...base, auth: opts.auth });
  let useAuth = !!authed;
  const current = () => (useAuth && authed ? authed : anon);
  const perEndpoint = new Map<string, etcd3.Etcd3>();
  // "revision of auth store is old": the member that took the call stamped it before it applied a
  // user or role change the leader had committed; authenticate again and retry, as etcd's Go client
  // does (a few times: another change may land meanwhile). fn may have gone through a per-endpoint
  // client (status): every authenticating client forgets its token.
  const afterAuthChange = async <T>(first: unknown, again: () => Promise<T>): Promise<T> => {
    let err = first;
    for (let i = 0; i < AUTH_CHANGE_RETRIES && isReason(err, 'auth-old-revision'); i++) {
      if (!authed || ![authed, ...perEndpoint.values()].map(forgetToken).every(Boolean)) break;
      try {
        return await again();
      } catch (e) {
        err = e;
      }
    }
    throw err;
  };
  const call = async <T>(what: string, fn: (c: etcd3.Etcd3) => Promise<T>): Promise<T> => {
    const attempt = async (c: etcd3.Etcd3) => {
      try {
        return await timeout(fn(c), ms, what);
      } catch (err) {
        throw translate(err, what);
      }
    };
    const usedAuth = useAuth;
    try {
      return await attempt(current());
    } catch (err) {
      if (!authed) throw err;
      if (isReason(err, 'auth-old-revision')) return afterAuthChange(err, () => attempt(current()));
      // set, not toggled: concurrent calls that all heard the same answer must agree on the mode
      const wantAuth = usedAuth ? !isReason(err, 'auth-not-enabled') : isAuthAsked(err);
      if (wantAuth === usedAuth) throw err;
      useAuth = wantAuth;
      return attempt(current());
    }
  };
  // one client per endpoint and mode (etcd 3.6 asks for a user on Status too once authentication is on)
  const endpointClient = (endpoint: string) => {
    const key = `${useAuth}|${endpoint}`;
    let c = perEndpoint.get(key);
    if (!c) {
      c = new etcd3.Etcd3({ hosts: endpoint, ...base, ...(useAuth && opts.auth ? { auth: opts.auth } : {}) });
      perEndpoint.set(key, c);
    }
    return c;
  };
  return {
    memberList: (opts) =>
      call('member list', async (c) => {
        const r = await c.cluster.memberList({ linearizable: !opts?.local });
        return { clusterId: hexId(r.header.cluster_id), members: r.members.map(toMember) };
      }),
    memberAdd: (peerUrls, learner) =>
      call('member add', async (c) => {
        const r = await c.cluster.memberAdd({ peerURLs: peerUrls, isLearner: learner });
        return { member: toMember(r.member), members: r.members.map(toMember) };
      }),
    memberRemove: (id) =>
      call('member remove', async (c) => {
        await c.cluster.memberRemove({ ID: decId(id) });
      }),
    memberPromote: (id) =>
      call('member promote', async (c) => {
        await c.cluster.memberPromote({ ID: decId(id) });
      }),
    memberUpdate: (id, peerUrls) =>
      call('member update', async (c) => {
        await c.cluster.memberUpdate({ ID: decId(id), peerURLs: peerUrls });
      }),
    status: (endpoint) =>
      learnerAware(
        call(`status of ${endpoint}`, async () => {
          const r = await endpointClient(endpoint).maintenance.status();
          const raw = r as unknown as {
            isLearner?: boolean;
            raftIndex?: string;
            raftAppliedIndex?: string;
            dbSizeInUse?: string;
          };
          return {
            memberId: hexId(r.header.member_id),
            clusterId: hexId(r.header.cluster_id),
            leader: hexId(r.leader),
            isLearner: !!raw.isLearner,
            raftIndex: Number(raw.raftIndex ?? 0),
            raftAppliedIndex: Number(raw.raftAppliedIndex ?? 0),
            version: r.version,
            revision: Number(r.header.revision),
            dbSize: Number(r.dbSize),
            dbSizeInUse: Number(raw.dbSizeInUse ?? r.dbSize),
          };
        }),
      ),
    ...maintenanceApi({ call, endpointClient, ms }),
    moveLeader: (targetId) =>
      call('move leader', async (c) => {
        await c.maintenance.moveLeader({ targetID: decId(targetId) });
      }),
    get: (key) =>
      call(`get ${key}`, async (c) => {
        const r = await c.get(key).exec();
        const kv = r.kvs[0];
        return (
          kv && {
            key: kv.key.toString(),
            value: kv.value.toString(),
            createRevision: Number(kv.create_revision),
            lease: kv.lease,
          }
        );
      }),
    getPrefix: (prefix) =>
      call(`get ${prefix}*`, async (c) => {
        const r = await c.getAll().prefix(prefix).exec();
        return r.kvs.map((kv) => ({
          key: kv.key.toString(),
          value: kv.value.toString(),
          createRevision: Number(kv.create_revision),
          lease: kv.lease,
        }));
      }),
    put: (key, value) =>
      call(`put ${key}`, async (c) => {
        await c.put(key).value(value).exec();
      }),
    putIfAbsent: (key, value) =>
      call(`create ${key}`, async (c) => {
        const r = await c.if(key, 'Create', '==', 0).then(c.put(key).value(value)).commit();
        return r.succeeded;
      }),
    delete: (key) =>
      call(`delete ${key}`, async (c) => {
        await c.delete().key(key).exec();
      }),
    deletePrefix: (prefix) =>
      call(`delete ${prefix}*`, async (c) => Number((await c.delete().prefix(prefix).exec()).deleted)),
    lease(ttl) {
      // made by the first grant, on the client that call goes through
      let lease: etcd3.Lease | undefined;
      let revoked = false;
      return {
        grant: () =>
          call('lease grant', async (c) => {
            lease = c.lease(ttl, { autoKeepAlive: true });
            return hexId(await lease.grant());
          }),
        put: (key, value) =>
          call(`put ${key}`, async () => {
            if (!lease) throw new DeisError('internal', `put ${key}: the lease was not granted`);
            await lease.put(key).value(value).exec();
          }),
        revoke: async () => {
          if (revoked || !lease) return;
          revoked = true;
          try {
            await timeout(lease.revoke(), ms, 'lease revoke');
          } catch {
            /* it expires by itself */
          }
        },
      };
    },
    withLock: async (key, ttl, fn) => {
      let lock: etcd3.Lock | undefined;
      await call(`lock ${key}`, async (c) => {
        lock = c.lock(key).ttl(ttl);
        await lock.acquire();
      });
      try {
        return await fn();
      } finally {
        try {
          if (lock) await timeout(lock.release(), ms, `unlock ${key}`);
        } catch {
          /* its lease expires */
        }
      }
    },
    ...authApi(call),
    close() {
      anon.close();
      authed?.close();
      for (const c of perEndpoint.values()) c.close();
    },
  };
}
