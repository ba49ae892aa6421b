// The adapter over the etcd3 library: membership (list/add/remove/promote/update), status, leader
// moves, plain KV with create-if-absent, leases and locks. It returns plain snapshots with member IDs
// in hex (as etcdctl and the discovery registry print them) and turns every library error into a
// DeisError in one place ({@link translate}). Nothing else in the project imports etcd3.
import * as etcd3 from 'etcd3';
import { noop } from 'cockatiel';
import { PassThrough } from 'node:stream';
import { DeisError, isReason } from '../errors.ts';
import { translate } from './errors.ts';

export { translate } from './errors.ts';

export interface Member {
  /** Member ID in hex, as etcdctl prints it. */
  id: string;
  /** Empty while an added member has not started yet. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberList {
  clusterId: string;
  members: Member[];
}

export interface Status {
  memberId: string;
  clusterId: string;
  leader: string;
  isLearner: boolean;
  raftIndex: number;
  raftAppliedIndex: number;
  version: string;
  /** The key space's revision when the member answered. */
  revision: number;
  /** The backend database's size on disk and the part of it in use, in bytes. */
  dbSize: number;
  dbSizeInUse: number;
}

/** An alarm raised on a member, e.g. NOSPACE when its database passed --quota-backend-bytes. */
export interface Alarm {
  memberId: string;
  alarm: 'NOSPACE' | 'CORRUPT';
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  lease: string;
}

export interface Lease {
  /** Resolves once the lease is granted; its ID in hex. */
  grant(): Promise<string>;
  put(key: string, value: string): Promise<void>;
  /** Revokes the lease (its keys vanish); safe to call twice. */
  revoke(): Promise<void>;
}

/** What the programs need from an etcd cluster. */
export interface EtcdApi {
  /** The members; `local` reads the answering member's own view (works without quorum). */
  memberList(opts?: { local?: boolean }): Promise<MemberList>;
  memberAdd(peerUrls: string[], learner: boolean): Promise<{ member: Member; members: Member[] }>;
  memberRemove(id: string): Promise<void>;
  memberPromote(id: string): Promise<void>;
  memberUpdate(id: string, peerUrls: string[]): Promise<void>;
  /** Status of the member behind one client URL. */
  status(endpoint: string): Promise<Status>;
  moveLeader(targetId: string): Promise<void>;
  /** Compacts the key space's history up to revision (a revision already compacted is no error). */
  compact(revision: number): Promise<void>;
  /** Defragments the backend of the member behind one client URL (it blocks that member meanwhile). */
  defragment(endpoint: string): Promise<void>;
  /**
   * The backend database of the member behind one client URL, streamed as etcd sends it (the file
   * followed by its sha256, as `etcdctl snapshot save` writes it). Fails with the stream's error.
   */
  snapshot(endpoint: string): AsyncIterable<Uint8Array>;
  /** The alarms raised in the cluster. */
  alarms(): Promise<Alarm[]>;
  /** Clears one member's alarm. */
  disarm(alarm: Alarm): Promise<void>;
  get(key: string): Promise<KeyValue | undefined>;
  getPrefix(prefix: string): Promise<KeyValue[]>;
  put(key: string, value: string): Promise<void>;
  /** Creates key only if it does not exist; true when this call created it. */
  putIfAbsent(key: string, value: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  lease(ttlSeconds: number): Lease;
  /** Runs fn while holding the etcd lock `key` (released on return or throw; expires after ttl if we die). */
  withLock<T>(key: string, ttlSeconds: number, fn: () => Promise<T>): Promise<T>;
  /**
   * etcd's authentication on, once: user root (with `rootPassword`, created when absent) holding the
   * root role, then auth enable. Idempotent; true when this call enabled it.
   */
  enableAuth(rootPassword: string): Promise<boolean>;
  /**
   * A user whose role `<user>` may read and write only keys under `prefix`: role, its one permission
   * (a previous prefix's replaced) and the user (its password set) created or updated. Needs root.
   */
  ensureUser(user: string, password: string, prefix: string): Promise<void>;
  close(): void;
}

export interface EtcdClientOptions {
  endpoints: string[];
  /** Per-call limit in ms. */
  timeoutMs?: number;
  dialTimeoutMs?: number;
  /** PEM texts for https endpoints: the CA to trust and the client certificate to present. */
  tls?: { ca: string; cert: string; key: string } | undefined;
  /** A user to authenticate as once etcd's authentication is enabled (before that, calls go without). */
  auth?: { username: string; password: string } | undefined;
}

export const hexId = (dec: string): string => BigInt(dec).toString(16);
export const decId = (hex: string): string => BigInt(`0x${hex}`).toString(10);

function toMember(m: etcd3.IMember): Member {
  return {
    id: hexId(m.ID),
    name: m.name,
    peerUrls: m.peerURLs ?? [],
    clientUrls: m.clientURLs ?? [],
    isLearner: !!m.isLearner,
  };
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeisError('unreachable', `${what}: no answer within ${ms} ms`, { retryable: true })),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** How long a defragmentation may take (etcd rewrites the database file; ~1 s per 100 MB seen). */
const DEFRAG_TIMEOUT_MS = 120_000;

/** Swallows etcd3's "already exists" errors (a user or role made by an earlier, interrupted run). */
async function unlessExists(err: unknown): Promise<void> {
  if (err instanceof etcd3.EtcdUserExistsError || err instanceof etcd3.EtcdRoleExistsError) return;
  throw err;
}

/** The end of etcd's range for a key prefix: the prefix with its last byte below 0xff incremented. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] ?? 0) < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = (end[i] ?? 0) + 1;
      return end;
    }
  }
  return Buffer.from([0]);
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
  const call = async <T>(what: string, fn: (c: etcd3.Etcd3) => Promise<T>): Promise<T> => {
    const attempt = async (c: etcd3.Etcd3) => {
      try {
        return await timeout(fn(c), ms, what);
      } catch (err) {
        throw translate(err, what);
      }
    };
    try {
      return await attempt(current());
    } catch (err) {
      if (!authed) throw err;
      const switchTo = useAuth ? isReason(err, 'auth-not-enabled') : isAuthAsked(err);
      if (!switchTo) throw err;
      useAuth = !useAuth;
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
    compact: (revision) =>
      call(`compact at ${revision}`, async (c) => {
        try {
          await c.kv.compact({ revision: String(revision), physical: true });
        } catch (err) {
          if (translate(err, 'compact').reason !== 'compacted') throw err;
        }
      }),
    defragment: (endpoint) =>
      // a defragmentation rewrites the whole database: it may take far longer than an ordinary call
      timeout(
        (async () => {
          try {
            await endpointClient(endpoint).maintenance.defragment();
          } catch (err) {
            throw translate(err, `defragment ${endpoint}`);
          }
        })(),
        Math.max(ms, DEFRAG_TIMEOUT_MS),
        `defragment ${endpoint}`,
      ),
    snapshot: (endpoint) => {
      // a PassThrough turns the gRPC event stream into an async iterable with backpressure on our side
      const out = new PassThrough();
      endpointClient(endpoint)
        .maintenance.snapshot()
        .then((stream) => {
          stream.on('data', (r) => {
            if (r.blob?.length) out.write(r.blob);
          });
          stream.on('end', () => out.end());
          stream.on('error', (err) => out.destroy(translate(err, `snapshot of ${endpoint}`)));
        })
        .catch((err) => out.destroy(translate(err, `snapshot of ${endpoint}`)));
      return out;
    },
    alarms: () =>
      call('alarm list', async (c) => {
        const r = await c.maintenance.alarm({
          action: etcd3.AlarmAction.Get,
          memberID: '0',
          alarm: etcd3.AlarmType.None,
        });
        // the client decodes enums to their proto names (NOSPACE), whatever its typings say
        return r.alarms.flatMap((a) => {
          const name = String(a.alarm).toUpperCase();
          return name === 'NOSPACE' || name === 'CORRUPT' ? [{ memberId: hexId(a.memberID), alarm: name }] : [];
        });
      }),
    disarm: (a) =>
      call(`disarm ${a.alarm} of ${a.memberId}`, async (c) => {
        await c.maintenance.alarm({
          action: etcd3.AlarmAction.Deactivate,
          memberID: decId(a.memberId),
          alarm: a.alarm === 'NOSPACE' ? etcd3.AlarmType.Nospace : etcd3.AlarmType.Corrupt,
        });
      }),
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
    enableAuth: (rootPassword) =>
      call('enable authentication', async (c) => {
        if ((await c.auth.authStatus()).enabled) return false;
        await c.auth.userAdd({ name: 'root', password: rootPassword }).catch(unlessExists);
        await c.auth.userGrantRole({ user: 'root', role: 'root' });
        await c.auth.authEnable();
        return true;
      }),
    ensureUser: (user, password, prefix) =>
      call(`user ${user}`, async (c) => {
        await c.auth.roleAdd({ name: user }).catch(unlessExists);
        const { perm } = await c.auth.roleGet({ role: user });
        for (const p of perm) {
          if (p.key.equals(Buffer.from(prefix)) && p.range_end.equals(prefixEnd(prefix))) continue;
          await c.auth.roleRevokePermission({ role: user, key: p.key, range_end: p.range_end });
        }
        await c.auth.roleGrantPermission({
          name: user,
          perm: { permType: 'Readwrite', key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
        });
        const added = await c.auth.userAdd({ name: user, password }).then(
          () => true,
          (err: unknown) => unlessExists(err).then(() => false),
        );
        if (!added) await c.auth.userChangePassword({ name: user, password });
        await c.auth.userGrantRole({ user, role: user });
      }),
    close() {
      anon.close();
      authed?.close();
      for (const c of perEndpoint.values()) c.close();
    },
  };
}
