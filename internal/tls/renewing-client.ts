// A long-lived etcd client that follows this program's certificate renewals (internal/tls/pki.ts).
import type { EtcdApi } from '../etcd/client.ts';
import type { LeafKeeper } from './pki.ts';

/**
 * A client that follows the certificate: after each renewal the next call goes through a new client
 * presenting the new certificate, and the old one is closed `later` (calls running on it finish; a
 * lease kept alive on it is re-created on the new one by its keeper). For the clients boot keeps for
 * its whole life (the registry's): a reconnect with a certificate past its expiry would be refused.
 */
export function renewingClient(make: () => EtcdApi, keeper: LeafKeeper, later: (fn: () => void) => void): EtcdApi {
  let inner = make();
  let closed = false;
  keeper.onRenew(() => {
    if (closed) return;
    const old = inner;
    inner = make();
    later(() => old.close());
  });
  return {
    memberList: (o) => inner.memberList(o),
    memberAdd: (urls, learner) => inner.memberAdd(urls, learner),
    memberRemove: (id) => inner.memberRemove(id),
    memberPromote: (id) => inner.memberPromote(id),
    memberUpdate: (id, urls) => inner.memberUpdate(id, urls),
    status: (endpoint) => inner.status(endpoint),
    moveLeader: (id) => inner.moveLeader(id),
    get: (key) => inner.get(key),
    getPrefix: (prefix) => inner.getPrefix(prefix),
    put: (key, value) => inner.put(key, value),
    putIfAbsent: (key, value) => inner.putIfAbsent(key, value),
    delete: (key) => inner.delete(key),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
    lease: (ttl) => inner.lease(ttl),
    withLock: (key, ttl, fn) => inner.withLock(key, ttl, fn),
    enableAuth: (password) => inner.enableAuth(password),
    ensureUser: (user, password, prefix) => inner.ensureUser(user, password, prefix),
    compact: (revision) => inner.compact(revision),
    defragment: (endpoint) => inner.defragment(endpoint),
    snapshot: (endpoint) => inner.snapshot(endpoint),
    alarms: () => inner.alarms(),
    disarm: (alarm) => inner.disarm(alarm),
    close: () => {
      closed = true;
      inner.close();
    },
  };
}
