// The etcd3 clients behind one adapter and how a call goes through them: the call timeout, error
// translation, the switch between calls without a user and calls as a user (authentication is
// enabled by boot after the cluster forms), and the retry after a user or role change. The
// adapter's methods (client.ts, maintenance.ts, auth.ts) see only call() and endpointClient().
import * as etcd3 from 'etcd3';
import { noop } from 'cockatiel';
import { isReason } from '../errors.ts';
import { timeout, type EtcdClientOptions } from './api.ts';
import { translate } from './errors.ts';
import type { CallDeps } from './maintenance.ts';

/** How many times a call is retried at once after "revision of auth store is old". */
const AUTH_CHANGE_RETRIES = 3;

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

/**
 * After `first` failed: while the error is "revision of auth store is old" (the member that took the
 * call stamped it before it applied a user or role change the leader had committed), forgets the
 * tokens and runs `again`, up to AUTH_CHANGE_RETRIES times (another change may land meanwhile), as
 * etcd's Go client does. Any other error, or tokens that cannot be forgotten, is thrown as it is.
 */
export async function retryAfterAuthChange<T>(
  first: unknown,
  forget: () => boolean,
  again: () => Promise<T>,
): Promise<T> {
  let err = first;
  for (let i = 0; i < AUTH_CHANGE_RETRIES && isReason(translate(err, 'etcd call'), 'auth-old-revision'); i++) {
    if (!forget()) break;
    try {
      return await again();
    } catch (e) {
      err = e;
    }
  }
  throw err;
}

/** etcd asks for a user: authentication was enabled since this client last found it off. */
const isAuthAsked = (err: unknown) => isReason(err, 'auth-required') || isReason(err, 'permission-denied');

/**
 * etcd3's own retries and per-host circuit breakers, switched off: three 'unhealthy cluster' or 'no
 * leader' answers in a row (a member catching up, an election) would open a host's breaker for 5 s,
 * and every call to it would fail at once meanwhile; our callers retry with back-off instead.
 */
export const noFaultHandling = { host: () => noop, global: noop };

/** The clients of one adapter: call() and endpointClient() for its methods, close() for all. */
export function openConnection(opts: EtcdClientOptions): CallDeps & { close(): void } {
  const ms = opts.timeoutMs ?? 5000;
  const credentials = opts.tls && {
    rootCertificate: Buffer.from(opts.tls.ca),
    certChain: Buffer.from(opts.tls.cert),
    privateKey: Buffer.from(opts.tls.key),
  };
  const base = {
    dialTimeout: opts.dialTimeoutMs ?? 2000,
    faultHandling: noFaultHandling,
    ...(credentials ? { credentials } : {}),
  };
  // With a user: calls authenticate, except while etcd's authentication is not enabled yet (a new
  // cluster until its bootstrapping member enables it): then they go without, until etcd asks for a user.
  const anon = new etcd3.Etcd3({ hosts: opts.endpoints, ...base });
  const authed = opts.auth && new etcd3.Etcd3({ hosts: opts.endpoints, ...base, auth: opts.auth });
  let useAuth = !!authed;
  const current = () => (useAuth && authed ? authed : anon);
  const perEndpoint = new Map<string, etcd3.Etcd3>();
  // fn may go through a per-endpoint client (status): every authenticating client forgets its token
  const forgetAll = () => !!authed && [authed, ...perEndpoint.values()].map(forgetToken).every(Boolean);
  const call = async <T>(what: string, fn: (c: etcd3.Etcd3) => Promise<T>): Promise<T> => {
    const attempt = async () => {
      try {
        return await timeout(fn(current()), ms, what);
      } catch (err) {
        throw translate(err, what);
      }
    };
    const usedAuth = useAuth;
    try {
      return await attempt();
    } catch (err) {
      if (!authed) throw err;
      if (isReason(err, 'auth-old-revision')) return retryAfterAuthChange(err, forgetAll, attempt);
      // set, not toggled: concurrent calls that all heard the same answer must agree on the mode
      const wantAuth = usedAuth ? !isReason(err, 'auth-not-enabled') : isAuthAsked(err);
      if (wantAuth === usedAuth) throw err;
      useAuth = wantAuth;
      return attempt();
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
    call,
    endpointClient,
    ms,
    close() {
      anon.close();
      authed?.close();
      for (const c of perEndpoint.values()) c.close();
    },
  };
}
