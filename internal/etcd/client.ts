// The adapter over the etcd3 library: membership (list/add/remove/promote/update), status, leader
// moves, plain KV with create-if-absent, leases and locks. It returns plain snapshots with member IDs
// in hex (as etcdctl and the discovery registry print them) and turns every library error into a
// DeisError in one place ({@link translate}). Nothing else in the project imports etcd3.
import type * as etcd3 from 'etcd3';
import { DeisError, isReason } from '../errors.ts';
import { decId, hexId, timeout, type EtcdApi, type EtcdClientOptions, type Member } from './api.ts';
import { authApi } from './auth.ts';
import { maintenanceApi } from './maintenance.ts';
import { openConnection } from './connection.ts';

export { translate } from './errors.ts';
export { forgetToken, retryAfterAuthChange } from './connection.ts';

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

/** An EtcdApi over the etcd3 client for the given client URLs. */
export function connectEtcd(opts: EtcdClientOptions): EtcdApi {
  const conn = openConnection(opts);
  const { call, endpointClient, ms } = conn;
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
    close: conn.close,
  };
}
