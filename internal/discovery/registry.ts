// The discovery registry: etcd's v3 discovery protocol keys plus our own records beside them, all
// under one token's prefix in the discovery service's etcd.
//
// Wire format (etcd's, server/etcdserver/api/v3discovery):
//   /_etcd/registry/<token>/_config/size          decimal cluster size; missing or invalid -> etcd exits
//   /_etcd/registry/<token>/members/<memberIdHex> "name=peerURL[,name=peerURL]"; the first <size> by
//                                                 CreateRevision form the cluster, later ones are "full"
// Ours (etcd's discovery reads only the two above, so these never confuse a stock member):
//   /_etcd/registry/<token>/status/<memberName>   heartbeat JSON {name,memberId,clusterId,peerUrl,clientUrl,at},
//                                                 on a lease of HEARTBEAT_TTL_S seconds: present <=> alive
//   /_etcd/registry/<token>/_deis/cluster         JSON {clusterId,at}: written once the cluster has formed,
//                                                 so later members join instead of using discovery again
//   /_etcd/registry/<token>/_deis/lock            the cluster-wide membership lock (etcd lock)
//   /_etcd/registry/<token>/_deis/resets          decimal count of registry resets (rebuilds)
//   /_etcd/registry/<token>/_deis/recover-lock    the quorum-loss recovery lock (one recovery at a time)
//   /_etcd/registry/<token>/_deis/nodata/<name>   JSON {name,at} on a lease: this pod runs without member data
//                                                 and waits (its old member's data is gone for good)
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';

/** How long a heartbeat outlives its writer; members refresh it every HEARTBEAT_INTERVAL_S. */
export const HEARTBEAT_TTL_S = 10;
export const HEARTBEAT_INTERVAL_S = 3;

export const registryKeys = (token: string) => {
  const prefix = `/_etcd/registry/${token}`;
  return {
    prefix,
    size: `${prefix}/_config/size`,
    members: `${prefix}/members/`,
    member: (idHex: string) => `${prefix}/members/${idHex}`,
    statusPrefix: `${prefix}/status/`,
    status: (name: string) => `${prefix}/status/${name}`,
    cluster: `${prefix}/_deis/cluster`,
    lock: `${prefix}/_deis/lock`,
    resets: `${prefix}/_deis/resets`,
    recoverLock: `${prefix}/_deis/recover-lock`,
    noDataPrefix: `${prefix}/_deis/nodata/`,
    noData: (name: string) => `${prefix}/_deis/nodata/${name}`,
  };
};

export interface RegisteredMember {
  id: string;
  name: string;
  peerUrls: string[];
  createRevision: number;
}
export interface Heartbeat {
  name: string;
  memberId: string;
  clusterId: string;
  peerUrl: string;
  clientUrl: string;
  at: string;
  /**
   * Written by a member about to start a new cluster through discovery, until its etcd has a member
   * ID: its etcd then listens but does not answer until the round is full, so nobody should probe it.
   */
  bootstrapping?: true;
}
export interface ClusterRecord {
  clusterId: string;
  at: string;
}

/** What the registry holds for one token, as plain data for the membership decision. */
export interface RegistrySnapshot {
  size: number | undefined;
  members: RegisteredMember[];
  heartbeats: Heartbeat[];
  cluster: ClusterRecord | undefined;
  resets: number;
}

/** Parses "name=peerURL[,name=peerURL]" (the value etcd registers). */
export function parseRegistration(id: string, value: string, createRevision: number): RegisteredMember {
  const pairs = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const name = pairs[0]?.split('=')[0] ?? '';
  return { id, name, peerUrls: pairs.map((p) => p.slice(p.indexOf('=') + 1)), createRevision };
}

function parseJson<T>(value: string): T | undefined {
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

/** A record on a lease: refresh rewrites it, stop revokes the lease (the record goes at once). */
export interface LeasedRecord {
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export class Registry {
  readonly keys: ReturnType<typeof registryKeys>;
  readonly token: string;
  private readonly etcd: EtcdApi;

  constructor(etcd: EtcdApi, token: string) {
    this.etcd = etcd;
    this.token = token;
    this.keys = registryKeys(token);
  }

  /** The size key; a value etcd would reject is an error naming it. */
  async size(): Promise<number | undefined> {
    const kv = await this.etcd.get(this.keys.size);
    if (!kv) return undefined;
    if (!/^\d+$/.test(kv.value.trim()) || Number(kv.value) <= 0) {
      throw new DeisError('membership', `the registry's size key holds '${kv.value}', which etcd rejects`, {
        reason: 'bad-size-key',
      });
    }
    return Number(kv.value);
  }

  /** Creates the size key if absent (never overwrites a live registry); returns the size in force. */
  async seedSize(size: number): Promise<{ created: boolean; size: number }> {
    const created = await this.etcd.putIfAbsent(this.keys.size, String(size));
    return { created, size: created ? size : ((await this.size()) ?? size) };
  }

  async members(): Promise<RegisteredMember[]> {
    const kvs = await this.etcd.getPrefix(this.keys.members);
    return kvs
      .map((kv) => parseRegistration(kv.key.slice(this.keys.members.length), kv.value, kv.createRevision))
      .sort((a, b) => a.createRevision - b.createRevision);
  }

  async heartbeats(): Promise<Heartbeat[]> {
    const kvs = await this.etcd.getPrefix(this.keys.statusPrefix);
    return kvs
      .map((kv) => parseJson<Heartbeat>(kv.value))
      .filter((h): h is Heartbeat => !!h && typeof h.name === 'string');
  }

  async cluster(): Promise<ClusterRecord | undefined> {
    const kv = await this.etcd.get(this.keys.cluster);
    return kv ? parseJson<ClusterRecord>(kv.value) : undefined;
  }

  async snapshot(): Promise<RegistrySnapshot> {
    const [size, members, heartbeats, cluster, resets] = await Promise.all([
      this.size(),
      this.members(),
      this.heartbeats(),
      this.cluster(),
      this.etcd.get(this.keys.resets),
    ]);
    return { size, members, heartbeats, cluster, resets: Number(resets?.value ?? 0) };
  }

  /** Records that the cluster has formed (first writer wins); true when this call wrote it. */
  recordCluster(clusterId: string, at: Date): Promise<boolean> {
    return this.etcd.putIfAbsent(this.keys.cluster, JSON.stringify({ clusterId, at: at.toISOString() }));
  }

  /** Drops one registration (a member that never formed a cluster and comes back with another ID). */
  removeRegistration(id: string): Promise<void> {
    return this.etcd.delete(this.keys.member(id));
  }

  /**
   * Empties the registry so that a new cluster can form: registrations and the cluster record go,
   * the size stays, the reset counter grows. Call only under the lock, when no member lives anywhere.
   */
  async reset(): Promise<void> {
    await this.etcd.deletePrefix(this.keys.members);
    await this.etcd.delete(this.keys.cluster);
    const n = Number((await this.etcd.get(this.keys.resets))?.value ?? 0);
    await this.etcd.put(this.keys.resets, String(n + 1));
  }

  /** Closes the client to the discovery service. */
  close(): void {
    this.etcd.close();
  }

  /** Runs fn under the registry's rebuild lock, or the quorum-loss recovery lock. */
  withLock<T>(fn: () => Promise<T>, ttlSeconds = 30, which: 'rebuild' | 'recover' = 'rebuild'): Promise<T> {
    return this.etcd.withLock(which === 'rebuild' ? this.keys.lock : this.keys.recoverLock, ttlSeconds, fn);
  }

  /**
   * Starts this member's heartbeat: a record on a lease that the etcd3 client keeps alive. Stopping it
   * revokes the lease, so a member that leaves on purpose disappears at once.
   */
  heartbeat(record: () => Heartbeat, ttlSeconds = HEARTBEAT_TTL_S): Promise<LeasedRecord> {
    return this.leased(
      () => this.keys.status(record().name),
      () => JSON.stringify(record()),
      ttlSeconds,
    );
  }

  /** Announces that pod `name` runs without member data (it waits to join); gone with its lease. */
  announceNoData(name: string, now: () => Date): Promise<LeasedRecord> {
    return this.leased(
      () => this.keys.noData(name),
      () => JSON.stringify({ name, at: now().toISOString() }),
      HEARTBEAT_TTL_S,
    );
  }

  /** Names of the pods that announced they run without member data. */
  async noData(): Promise<string[]> {
    return (await this.etcd.getPrefix(this.keys.noDataPrefix)).map((kv) => kv.key.slice(this.keys.noDataPrefix.length));
  }

  private async leased(key: () => string, value: () => string, ttlSeconds: number): Promise<LeasedRecord> {
    const lease = this.etcd.lease(ttlSeconds);
    await lease.grant();
    const write = () => lease.put(key(), value());
    await write();
    return { refresh: write, stop: () => lease.revoke() };
  }
}
