// The background pass while etcd runs: the heartbeat every few seconds and, on the leader, every
// heal interval: promote caught-up learners, and remove one member whose pod has been gone longer
// than the grace period (one change per pass, each keeping quorum), then the maintenance pass
// (maintenance.ts: defragmentation, NOSPACE).
import { HEARTBEAT_INTERVAL_S } from '../discovery/registry.ts';
import { removals } from '../membership/decide.ts';
import { isLeaving, ordinalIn, scaleDownStep } from '../membership/scale.ts';
import { MEMBERSHIP_LOCK, removeMember } from './changes.ts';
import { withLocal, type BootContext } from './context.ts';
import { maintenancePass, snapshotMetrics } from './maintenance.ts';
import { ensureAuth } from './auth.ts';
import { memberViews } from './cluster-view.ts';
import { scaleOf } from './observe.ts';
import { checkQuorum, type QuorumState, type QuorumVerdict } from './recover.ts';

/** What the healer remembers between passes: since when each candidate's pod has been gone. */
export interface HealState {
  goneSince: Map<string, number>;
}

/** What one pass did, for the log and for tests. */
export interface HealResult {
  leader: boolean;
  promoted: string[];
  removed: string[];
}

/** One heal pass against this member's own etcd. */
export async function healPass(ctx: BootContext, state: HealState): Promise<HealResult> {
  const out: HealResult = { leader: false, promoted: [], removed: [] };
  await withLocal(ctx, async (etcd) => {
    const st = await etcd.status(ctx.self.clientUrl);
    const { members } = await etcd.memberList();
    ctx.metrics.set('deis_etcd_members', members.length);
    ctx.metrics.set('deis_etcd_learners', members.filter((m) => m.isLearner).length);
    if (st.leader !== ctx.member.id) return;
    out.leader = true;
    const views = await memberViews(etcd, members);
    for (const m of views.filter((v) => v.isLearner && v.healthy)) {
      try {
        await etcd.memberPromote(m.id);
        ctx.metrics.change('promote');
        ctx.log.info('learner promoted', { memberId: m.id });
        ctx.events.emit(
          'LearnerPromoted',
          `learner ${m.name} ${m.id} promoted to a voting member by ${ctx.self.name}`,
          m.name || undefined,
        );
        out.promoted.push(m.id);
      } catch {
        /* not caught up yet */
      }
    }
    const { root } = ctx;
    if (root)
      await ensureAuth(ctx, etcd, root, ctx.authState).catch((err) =>
        ctx.log.warn('authentication setup failed', { err }),
      );
    if (!ctx.kube) return;
    const pods = (await ctx.kube.listPods(ctx.cfg.selector)).map((p) => ({ name: p.name, ip: p.ip }));
    const { removals: candidates } = removals(views, ctx.self, pods);
    const now = ctx.clock.now();
    for (const id of state.goneSince.keys()) if (!candidates.some((c) => c.id === id)) state.goneSince.delete(id);
    for (const c of candidates) {
      const since = state.goneSince.get(c.id) ?? now;
      state.goneSince.set(c.id, since);
      if (now - since < ctx.cfg.podGoneGraceS * 1000) continue;
      await etcd.withLock(MEMBERSHIP_LOCK, 30, () => removeMember(ctx, etcd, c));
      ctx.metrics.observe('deis_etcd_heal_duration_seconds', (ctx.clock.now() - since) / 1000);
      state.goneSince.delete(c.id);
      out.removed.push(c.id);
      break; // one change per pass
    }
  });
  return out;
}

/**
 * On the leader, once the StatefulSet's replicas drop: the next step of the scale-down (leadership
 * off a leaving leader, or one removal that keeps quorum), so that removals never depend on the
 * leavers finishing within their grace period. Returns what it did.
 */
export async function scaleDownPass(ctx: BootContext, seen: { replicas?: number } = {}): Promise<string | undefined> {
  if (!ctx.kube) return undefined;
  return withLocal(ctx, async (etcd) => {
    const st = await etcd.status(ctx.self.clientUrl);
    if (st.leader !== ctx.member.id) return undefined;
    const scale = await scaleOf(ctx);
    if (!scale || scale.replicas === undefined) return undefined;
    const { set, replicas } = scale;
    if (replicas !== seen.replicas && replicas > 0 && replicas % 2 === 0) {
      ctx.log.warn('even replicas: the cluster tolerates no more failures than one member fewer', { replicas });
    }
    seen.replicas = replicas;
    const { members } = await etcd.memberList();
    if (!members.some((m) => isLeaving(ordinalIn(m.name, set), replicas))) return undefined;
    const step = scaleDownStep(await memberViews(etcd, members), st.leader, set, replicas);
    if (step?.kind === 'move-leader') {
      await etcd.moveLeader(step.to);
      ctx.log.info('leadership moved', { to: step.to, why: 'scale-down' });
      return `move-leader ${step.to}`;
    }
    if (step?.kind !== 'remove') return undefined;
    await etcd.withLock(MEMBERSHIP_LOCK, 30, () => removeMember(ctx, etcd, step.removal));
    ctx.events.emit(
      'MemberLeft',
      `member ${step.removal.name} ${step.removal.id} left the cluster: StatefulSet ${set} scaled to ${replicas}`,
      step.removal.name || undefined,
    );
    return `remove ${step.removal.id}`;
  });
}

const TICK_MS = 1000;

/** What makes the supervisor act: a quorum recovery here, or this member dropped by one elsewhere. */
export type Need = Extract<QuorumVerdict, { kind: 'recover' | 'dropped' }>;

/** Runs the heartbeat, quorum, scale-down and heal passes until stopped or a Need arises. */
export function startHealer(ctx: BootContext): { stop(): Promise<void>; needs: Promise<Need> } {
  const stop = new AbortController();
  const state: HealState = { goneSince: new Map() };
  const quorum: QuorumState = { lostSince: undefined, said: '' };
  let need: (n: Need) => void = () => undefined;
  const needs = new Promise<Need>((resolve) => {
    need = resolve;
  });
  let said = '';
  const scaleSeen: { replicas?: number } = {};
  /** Logs a failing pass once per distinct error (a pass runs every second). */
  const once = (msg: string, err: unknown) => {
    const key = `${msg}: ${err instanceof Error ? err.message : String(err)}`;
    if (key !== said) ctx.log.warn(msg, { err });
    said = key;
  };
  const loop = (async () => {
    let lastHeal = 0;
    let lastBeat = ctx.clock.now();
    while (!stop.signal.aborted) {
      await ctx.clock.sleep(TICK_MS, stop.signal);
      if (stop.signal.aborted) break;
      if (ctx.clock.now() - lastBeat >= HEARTBEAT_INTERVAL_S * 1000) {
        lastBeat = ctx.clock.now();
        await ctx.heartbeat.ensure();
        await snapshotMetrics(ctx).catch((err) => once('snapshot directory unreadable', err));
        // a discovery service that lost its registry (an emptyDir) learns again that the cluster exists
        const { registry } = ctx;
        const clusterId = ctx.member.clusterId;
        if (registry && clusterId)
          await registry.recordCluster(clusterId, new Date(ctx.clock.now())).catch(() => false);
      }
      const q = await checkQuorum(ctx, quorum).catch((err) => void ctx.log.debug('quorum check failed', { err }));
      if (q?.kind === 'recover' || q?.kind === 'dropped') {
        need(q);
        break;
      }
      if (q?.kind === 'wait') continue;
      if (await scaleDownPass(ctx, scaleSeen).catch((err) => void once('scale-down pass failed', err))) continue;
      if (ctx.clock.now() - lastHeal < ctx.cfg.healIntervalS * 1000) continue;
      lastHeal = ctx.clock.now();
      await healPass(ctx, state).catch((err) => once('heal pass failed', err));
      await maintenancePass(ctx).catch((err) => once('maintenance pass failed', err));
    }
  })();
  return {
    stop: async () => {
      stop.abort();
      await loop;
    },
    needs,
  };
}
