// The running cluster as this member sees it: which candidate endpoints answer etcd's /health (a quick
// HTTP look), the member list, each member's health, and the endpoints of the healthy ones.
import type { BootConfig } from '../config/boot.ts';
import { isReason } from '../errors.ts';
import type { EtcdApi, Member } from '../etcd/client.ts';
import type { MemberView, Observation } from '../membership/decide.ts';
import type { Sources } from './observe.ts';

/**
 * Where the etcd behind a client URL answers /health without a client certificate: the client URL
 * itself, or with --tls the same host's metrics listener (--etcd-metrics-port, plain http).
 */
export function healthBase(cfg: BootConfig, clientUrl: string): string {
  if (!cfg.tls.enabled) return clientUrl;
  return `http://${new URL(clientUrl).hostname}:${cfg.etcdMetricsPort}`;
}

/**
 * Members with their health: a member is healthy when one of its client URLs answers a status call.
 * URLs in `silent` did not answer an HTTP look just before; they are not asked again (a dead
 * member's status call would wait for its gRPC connection to fail).
 */
export async function memberViews(
  etcd: EtcdApi,
  members: Member[],
  silent: ReadonlySet<string> = new Set(),
): Promise<MemberView[]> {
  return Promise.all(
    members.map(async (m) => {
      let healthy = false;
      for (const u of m.clientUrls) {
        if (silent.has(u)) continue;
        try {
          await etcd.status(u);
          healthy = true;
          break;
        } catch {
          /* next URL */
        }
      }
      return { id: m.id, name: m.name, peerUrls: m.peerUrls, isLearner: m.isLearner, healthy };
    }),
  );
}

/** The cluster as the candidates show it: who answers, the member list and the healthy endpoints. */
export async function observeCluster(
  src: Pick<Sources, 'cfg' | 'self' | 'fetch' | 'connect'>,
  candidates: string[],
): Promise<{ cluster: Observation['cluster']; members: Member[] | undefined; endpoints: string[] }> {
  const { cfg, self } = src;
  // a quick HTTP look first: members that are still starting (bootstrapping peers, a pod that just got
  // its IP) would otherwise stall the gRPC member list until its timeout
  const look = async (urls: string[]) =>
    (
      await Promise.all(
        urls.map(async (u) => {
          try {
            await src.fetch(`${healthBase(cfg, u)}/health`, { signal: AbortSignal.timeout(1000) });
            return u;
          } catch {
            return undefined;
          }
        }),
      )
    ).filter((u): u is string => !!u);
  const answering = await look(candidates);
  const silent = new Set(candidates.filter((u) => !answering.includes(u)));
  let cluster: Observation['cluster'] = { reachable: false, anyAlive: answering.length > 0 };
  let members: Member[] | undefined;
  const endpoints: string[] = [];
  if (answering.length) {
    const etcd = src.connect(answering);
    try {
      const list = await etcd.memberList();
      members = list.members;
      // members no candidate named (my previous incarnation's URL, say) get the same quick look: a dead
      // one refuses at once, where its status call would wait for the gRPC connection to fail
      const unseen = [...new Set(list.members.flatMap((m) => m.clientUrls))].filter(
        (u) => !candidates.includes(u) && u !== self.clientUrl,
      );
      const unseenAnswering = await look(unseen);
      for (const u of unseen) if (!unseenAnswering.includes(u)) silent.add(u);
      const views = await memberViews(etcd, list.members, silent);
      cluster = { reachable: true, clusterId: list.clusterId, members: views };
      // only members that answered: a dead member's URL would stall every call that tries it
      for (const m of list.members) {
        if (views.find((v) => v.id === m.id)?.healthy)
          for (const u of m.clientUrls) if (u !== self.clientUrl) endpoints.push(u);
      }
    } catch (err) {
      // a wrong root password (--auth) does not heal by waiting
      if (isReason(err, 'auth-failed')) throw err;
      // processes answer but the cluster has no quorum (or is still forming): alive, not reachable
    } finally {
      etcd.close();
    }
  }
  return { cluster, members, endpoints };
}
