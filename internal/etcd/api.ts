// What the programs need from an etcd cluster (EtcdApi) and the plain values it returns, with member IDs
// in hex as etcdctl and the discovery registry print them. No etcd3 here: the adapter is client.ts.
import { DeisError } from '../errors.ts';

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

/** Rejects with a retryable 'unreachable' error when p has not settled within ms. */
export function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeisError('unreachable', `${what}: no answer within ${ms} ms`, { retryable: true })),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
