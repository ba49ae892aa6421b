// deis-etcd's members on the test world, as the e2e files check them: the member pods, an etcd
// client on the Ready ones, convergence (Ready pods that are exactly the member list) and what the
// members logged, which a failed wait prints.
import type * as k8s from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { waitFor, within } from '../world/procs.ts';
import { isReady, type TestWorld } from '../world/world.ts';
import { forgetToken, retryAfterAuthChange } from '../../internal/etcd/client.ts';

const selector = 'app.kubernetes.io/component=member';

export interface Members {
  /** The member pods, those being deleted left out. */
  pods(): Promise<k8s.V1Pod[]>;
  /** Runs fn with a client on the Ready members, bounded by timeoutMs. */
  withClient<T>(fn: (c: Etcd3) => Promise<T>, timeoutMs?: number): Promise<T>;
  /** A key's value read through the Ready members. */
  get(key: string): Promise<string | null>;
  /**
   * Waits until n member pods are Ready and the member list is exactly those pods at their pod IPs
   * (with `dns`, at their DNS names under the peers Service); resolves with the cluster ID. On a
   * timeout the error carries the last state seen, the members' recent log lines and the agent's errors.
   */
  converged(n: number, opts?: { timeoutMs?: number; dns?: boolean }): Promise<string>;
  /** Waits until no member pod is left, those being deleted included. */
  gone(timeoutMs?: number): Promise<void>;
  /** The log of a member pod's container (JSON lines of boot and the etcd it runs). */
  logs(pod: string): Promise<string>;
  /** The JSON log entries of a member pod's container (lines that are not JSON left out). */
  entries(pod: string): Promise<Record<string, unknown>[]>;
}

/**
 * Runs fn on c; after "revision of auth store is old" (the member stamped the call before it applied
 * a user or role change, as right after the cluster forms and boot adds the application user),
 * authenticates again and runs it again, as connectEtcd does and etcd3 does not (microsoft/etcd3#198).
 */
export function retryStaleToken<T>(c: Etcd3, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  return fn(c).catch((err: unknown) =>
    retryAfterAuthChange(
      err,
      () => forgetToken(c),
      () => fn(c),
    ),
  );
}

/** With TLS (the local-secure overlay): the PEM texts of a client certificate and its CA. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

export function members(
  world: TestWorld,
  ns: string,
  tls?: ClientTls,
  auth?: { username: string; password: string },
): Members {
  const scheme = tls ? 'https' : 'http';
  const credentials = tls && {
    rootCertificate: Buffer.from(tls.ca),
    certChain: Buffer.from(tls.cert),
    privateKey: Buffer.from(tls.key),
  };
  const all = async () => (await world.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  const pods = async () => (await all()).filter((p) => !p.metadata?.deletionTimestamp);
  const logs = (pod: string) => world.agent.logs(ns, pod);

  async function withClient<T>(fn: (c: Etcd3) => Promise<T>, timeoutMs = 8000): Promise<T> {
    // a member can be between two readiness probes: wait a little for one rather than fail at once
    const ready = async () => (await pods()).filter(isReady).map((p) => `${scheme}://${p.status!.podIP}:2379`);
    const hosts = await waitFor(
      'a Ready member',
      async () => {
        const h = await ready();
        return h.length ? h : undefined;
      },
      timeoutMs,
      250,
    ).catch(async (err: unknown) => {
      const states = (await pods()).map((p) => `${p.metadata!.name}:${isReady(p)}`).join(' ');
      throw new Error(`${String(err)} (pods: ${states || 'none'})`);
    });
    const c = new Etcd3({
      hosts,
      dialTimeout: 2000,
      ...(credentials ? { credentials } : {}),
      ...(auth ? { auth } : {}),
    });
    try {
      return await within(timeoutMs, 'etcd call', retryStaleToken(c, fn));
    } finally {
      c.close();
    }
  }

  /** The last lines of each member's own log (etcd's lines left out), for a failure message. */
  async function recentLogs(lines = 8): Promise<string> {
    const own = (log: string) =>
      log
        .split('\n')
        .filter((l) => !l.includes('"msg":"etcd"'))
        .slice(-lines)
        .join('\n');
    const each = (await pods()).map(async (p) => `--- ${p.metadata!.name}\n${own(await logs(p.metadata!.name!))}`);
    return (await Promise.all(each)).join('\n');
  }

  async function converged(n: number, opts: { timeoutMs?: number; dns?: boolean } = {}): Promise<string> {
    const peer = (p: k8s.V1Pod) =>
      opts.dns ? `${p.metadata!.name}.deis-etcd-peers.${ns}.svc.cluster.local` : p.status!.podIP;
    let last = '';
    return waitFor(
      `${n} ready members matching the pods`,
      async () => {
        const ps = await pods();
        if (ps.length !== n || !ps.every(isReady)) {
          last = `pods: ${ps.map((p) => `${p.metadata!.name}:${isReady(p)}`).join(' ')}`;
          return false;
        }
        const want = ps.map((p) => `${p.metadata!.name}=${scheme}://${peer(p)}:2380`).sort();
        // a pod can turn unready between the two reads: then look again rather than fail
        const r = await withClient((c) => c.cluster.memberList({ linearizable: true })).catch((err: unknown) => {
          last = `member list failed: ${String(err)}`;
          return undefined;
        });
        if (!r) return false;
        const got = r.members.map((m) => `${m.name}=${m.peerURLs.join(',')}${m.isLearner ? '(learner)' : ''}`).sort();
        last = `members: ${got.join(' ')}; want ${want.join(' ')}`;
        return JSON.stringify(want) === JSON.stringify(got) ? r.header.cluster_id : false;
      },
      opts.timeoutMs ?? 150_000,
      500,
    ).catch(async (err) => {
      const agent = world.agent.recentErrors().slice(-5).join(' | ');
      throw new Error(`${String(err)}; ${last}\n${await recentLogs()}\nagent: ${agent}`);
    });
  }

  async function entries(pod: string): Promise<Record<string, unknown>[]> {
    return (await logs(pod)).split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  return {
    pods,
    withClient,
    converged,
    logs,
    entries,
    get: (key) => withClient((c) => c.get(key).string()),
    async gone(timeoutMs = 120_000) {
      await waitFor('member pods gone', async () => (await all()).length === 0, timeoutMs, 500);
    },
  };
}
