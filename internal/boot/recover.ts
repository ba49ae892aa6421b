// Quorum-loss recovery while etcd runs. Every started voter watches its own etcd; without a leader for
// --quorum-loss-grace it looks at the voters (its own view: a member list served locally) and asks
// membership/recover.ts whether to force a new cluster. The most up-to-date survivor restarts etcd from
// its data with --force-new-cluster under the discovery service's recovery lock; any other survivor
// finds itself dropped by the recovered cluster and restarts to rejoin as a learner.
import { DeisError } from '../errors.ts';
import type { EtcdApi, Member } from '../etcd/client.ts';
import { quorumRecovery, type QuorumPlan, type VoterView } from '../membership/recover.ts';
import { etcdHealthy, waitUntil, type Child } from '../supervisor/supervisor.ts';
import { withEtcd, withLocal, type BootContext } from './context.ts';
import { spawnEtcd, STOP_GRACE_MS } from './member.ts';
import { scaleOf } from './observe.ts';

/** No leader for this long is reported as QuorumLost (an election takes well under it). */
export const QUORUM_EVENT_AFTER_MS = 5_000;

export interface QuorumState {
  lostSince: number | undefined;
  /** Whether QuorumLost was reported for this loss (QuorumRecovered follows only then). */
  reported?: boolean;
  /** The last reason logged, so that each is logged once. */
  said: string;
}

export type QuorumVerdict =
  | { kind: 'ok' }
  | { kind: 'wait' }
  | { kind: 'dropped'; by: string }
  | Extract<QuorumPlan, { kind: 'recover' }>;

/** Each voter's reachability and raft index (status on its client URLs), with its leader if any. */
async function voterViews(
  etcd: EtcdApi,
  members: Member[],
): Promise<(VoterView & { leader: string; clientUrl?: string })[]> {
  return Promise.all(
    members
      .filter((m) => !m.isLearner)
      .map(async (m) => {
        for (const u of m.clientUrls) {
          try {
            const st = await etcd.status(u);
            return {
              id: m.id,
              name: m.name,
              reachable: true,
              raftIndex: st.raftIndex,
              leader: st.leader,
              clientUrl: u,
            };
          } catch {
            /* next URL */
          }
        }
        return { id: m.id, name: m.name, reachable: false, raftIndex: 0, leader: '0' };
      }),
  );
}

/** One look at quorum from this member's side; throws when its own etcd does not answer. */
export async function checkQuorum(ctx: BootContext, state: QuorumState): Promise<QuorumVerdict> {
  const say = (reason: string) => {
    if (reason !== state.said) ctx.log.warn('no quorum', { reason });
    state.said = reason;
  };
  return withLocal(ctx, async (etcd) => {
    const st = await etcd.status(ctx.self.clientUrl);
    ctx.metrics.set('deis_etcd_quorum', st.leader !== '0' ? 1 : 0);
    if (st.leader !== '0') {
      if (state.lostSince !== undefined) {
        const backAfterMs = ctx.clock.now() - state.lostSince;
        ctx.log.info('quorum is back', { lostForMs: backAfterMs });
        if (state.reported)
          ctx.events.emit(
            'QuorumRecovered',
            `${ctx.self.name} sees a leader again after ${Math.round(backAfterMs / 1000)} s`,
          );
      }
      state.lostSince = undefined;
      state.reported = false;
      state.said = '';
      return { kind: 'ok' };
    }
    state.lostSince ??= ctx.clock.now();
    const lostForMs = ctx.clock.now() - state.lostSince;
    if (!state.reported && lostForMs >= QUORUM_EVENT_AFTER_MS) {
      state.reported = true;
      ctx.events.emit('QuorumLost', `${ctx.self.name} has seen no leader for ${Math.round(lostForMs / 1000)} s`);
    }
    if (lostForMs < ctx.cfg.quorumLossGraceS * 1000) return { kind: 'wait' };
    const voters = await voterViews(etcd, (await etcd.memberList({ local: true })).members);
    for (const v of voters.filter((x) => x.id !== ctx.member.id && x.leader !== '0' && x.clientUrl)) {
      const theirs = await withEtcd(ctx, [v.clientUrl!], (e) => e.memberList()).catch(() => undefined);
      if (theirs && !theirs.members.some((m) => m.id === ctx.member.id)) return { kind: 'dropped', by: v.name };
    }
    if (!ctx.registry) {
      say('no quorum, and no discovery service to hold the recovery lock: recover by hand (see the README)');
      return { kind: 'wait' };
    }
    const scale = await scaleOf(ctx).catch(() => undefined);
    const noData = new Set(await ctx.registry.noData().catch(() => []));
    const plan = quorumRecovery({
      me: ctx.member.id ?? '',
      voters: voters.map((v) => ({ ...v, noData: !v.reachable && noData.has(v.name) })),
      set: scale?.set,
      replicas: scale?.replicas,
      lostForMs,
      graceMs: ctx.cfg.quorumLossGraceS * 1000,
      autoRecover: ctx.cfg.autoRecover,
    });
    if (plan.kind === 'wait') {
      say(plan.reason);
      return { kind: 'wait' };
    }
    return plan;
  });
}

/**
 * Under the discovery service's recovery lock: stops etcd and starts it again from its data with
 * --force-new-cluster (a one-member cluster keeping the data, the member and cluster IDs); returns
 * the new child once healthy. Writes acknowledged only by the lost voters are lost: said in the log.
 */
export async function forceNewCluster(
  ctx: BootContext,
  binary: string,
  child: Child,
  plan: Extract<QuorumVerdict, { kind: 'recover' }>,
): Promise<Child> {
  const registry = ctx.registry;
  if (!registry) throw new DeisError('internal', 'a quorum recovery needs the discovery service for its lock');
  return registry.withLock(
    async () => {
      ctx.log.warn("recovering quorum: restarting etcd from this member's data with --force-new-cluster", {
        reason: plan.reason,
        lost: plan.lost,
        survivors: plan.survivors,
        recoveryPoint: 'writes acknowledged by the lost voters but absent here are lost',
      });
      await child.stop(STOP_GRACE_MS);
      const next = spawnEtcd(ctx, binary, { plan: 'restart', args: ['--force-new-cluster'], endpoints: [] });
      await waitUntil(
        'etcd is healthy after --force-new-cluster',
        () => etcdHealthy(ctx.fetch, ctx.self.healthUrl),
        next,
        ctx.clock,
        ctx.cfg.startTimeoutS * 1000,
      );
      ctx.metrics.change('force-new-cluster');
      ctx.events.emit(
        'ClusterRebuilt',
        `${ctx.self.name} forced a new cluster from its data after quorum loss (lost: ${plan.lost.join(', ')}); ` +
          'writes acknowledged only by the lost members are lost',
      );
      ctx.log.warn('quorum recovered: this member is a new one-member cluster; the others rejoin as learners', {
        memberId: ctx.member.id,
      });
      return next;
    },
    60,
    'recover',
  );
}
