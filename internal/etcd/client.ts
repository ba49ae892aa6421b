// The adapter over the etcd3 library: membership (list/add/remove/promote/update), status, leader
// moves, plain KV with create-if-absent, leases and locks. It returns plain snapshots with member IDs
// in hex (as etcdctl and the discovery registry print them) and turns every library error into a
// DeisError in one place ({@link translate}). Nothing else in the project imports etcd3.
import * as etcd3 from 'etcd3';
import { noop } from 'cockatiel';
import { DeisError } from '../errors.ts';
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
  close(): void;
}

export interface EtcdClientOptions {
  endpoints: string[];
  /** Per-call limit in ms. */
  timeoutMs?: number;
  dialTimeoutMs?: number;
  /** PEM texts for https endpoints: the CA to trust and the client certificate to present. */
  tls?: { ca: string; cert: string; key: string } | undefined;
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
  const client = new etcd3.Etcd3({ hosts: opts.endpoints, ...base });
  const perEndpoint = new Map<string, etcd3.Etcd3>();
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await timeout(fn(), ms, what);
    } catch (err) {
      throw translate(err, what);
    }
  };
  return {
    memberList: (opts) =>
      call('member list', async () => {
        const r = await client.cluster.memberList({ linearizable: !opts?.local });
        return { clusterId: hexId(r.header.cluster_id), members: r.members.map(toMember) };
      }),
    memberAdd: (peerUrls, learner) =>
      call('member add', async () => {
        const r = await client.cluster.memberAdd({ peerURLs: peerUrls, isLearner: learner });
        return { member: toMember(r.member), members: r.members.map(toMember) };
      }),
    memberRemove: (id) =>
      call('member remove', async () => {
        await client.cluster.memberRemove({ ID: decId(id) });
      }),
    memberPromote: (id) =>
      call('member promote', async () => {
        await client.cluster.memberPromote({ ID: decId(id) });
      }),
    memberUpdate: (id, peerUrls) =>
      call('member update', async () => {
        await client.cluster.memberUpdate({ ID: decId(id), peerURLs: peerUrls });
      }),
    status: (endpoint) =>
      call(`status of ${endpoint}`, async () => {
        let c = perEndpoint.get(endpoint);
        if (!c) {
          c = new etcd3.Etcd3({ hosts: endpoint, ...base });
          perEndpoint.set(endpoint, c);
        }
        const r = await c.maintenance.status();
        const raw = r as unknown as { isLearner?: boolean; raftIndex?: string; raftAppliedIndex?: string };
        return {
          memberId: hexId(r.header.member_id),
          clusterId: hexId(r.header.cluster_id),
          leader: hexId(r.leader),
          isLearner: !!raw.isLearner,
          raftIndex: Number(raw.raftIndex ?? 0),
          raftAppliedIndex: Number(raw.raftAppliedIndex ?? 0),
          version: r.version,
        };
      }),
    moveLeader: (targetId) =>
      call('move leader', async () => {
        await client.maintenance.moveLeader({ targetID: decId(targetId) });
      }),
    get: (key) =>
      call(`get ${key}`, async () => {
        const r = await client.get(key).exec();
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
      call(`get ${prefix}*`, async () => {
        const r = await client.getAll().prefix(prefix).exec();
        return r.kvs.map((kv) => ({
          key: kv.key.toString(),
          value: kv.value.toString(),
          createRevision: Number(kv.create_revision),
          lease: kv.lease,
        }));
      }),
    put: (key, value) =>
      call(`put ${key}`, async () => {
        await client.put(key).value(value).exec();
      }),
    putIfAbsent: (key, value) =>
      call(`create ${key}`, async () => {
        const r = await client.if(key, 'Create', '==', 0).then(client.put(key).value(value)).commit();
        return r.succeeded;
      }),
    delete: (key) =>
      call(`delete ${key}`, async () => {
        await client.delete().key(key).exec();
      }),
    deletePrefix: (prefix) =>
      call(`delete ${prefix}*`, async () => Number((await client.delete().prefix(prefix).exec()).deleted)),
    lease(ttl) {
      const lease = client.lease(ttl, { autoKeepAlive: true });
      let revoked = false;
      return {
        grant: () => call('lease grant', async () => hexId(await lease.grant())),
        put: (key, value) =>
          call(`put ${key}`, async () => {
            await lease.put(key).value(value).exec();
          }),
        revoke: async () => {
          if (revoked) return;
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
      const lock = client.lock(key).ttl(ttl);
      await call(`lock ${key}`, () => lock.acquire());
      try {
        return await fn();
      } finally {
        try {
          await timeout(lock.release(), ms, `unlock ${key}`);
        } catch {
          /* its lease expires */
        }
      }
    },
    close() {
      client.close();
      for (const c of perEndpoint.values()) c.close();
    },
  };
}
