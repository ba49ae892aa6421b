// Membership changes, each under the cluster's membership lock (in the member cluster's own
// keyspace, so a replacement proceeds while discovery is down): join (remove what must go, add myself
// as a learner), promote myself once caught up, remove one member, and leave on a scale-down.
import { join } from 'node:path';
import { DeisError, isReason } from '../errors.ts';
import type { EtcdApi, Member } from '../etcd/client.ts';
import type { MemberView, Removal } from '../membership/decide.ts';
import { isLeaving, scaleDownStep } from '../membership/scale.ts';
import { retry } from '../retry.ts';
import { initialCluster } from '../supervisor/etcd-args.ts';
import { withEtcd, withLocal, type BootContext } from './context.ts';
import type { ChangeKind } from './metrics.ts';
import { memberViews } from './cluster-view.ts';
import { look, scaleOf, type Observed, type Quiet } from './observe.ts';
import type { JoinWatchdog } from './watchdog.ts';

/** The lock key, in the member cluster's own keyspace, that serializes membership changes. */
export const MEMBERSHIP_LOCK = '/_deis-etcd/locks/membership';
const LOCK_TTL_S = 30;
/**
 * How often a learner asks to be promoted while it catches up (cheap: a linearizable member list and a
 * promote the leader refuses before proposing anything, for the second or so a learner takes to catch
 * up; bounded by --start-timeout): the promotion is on the path of every replacement.
 */
const PROMOTE_POLL_MS = 50;
/**
 * How often a member leaving on a scale-down looks whether the leader has removed it (the leader's
 * heal pass does, on its own tick): a poll bounded by --leave-timeout, not a wait on a fixed delay.
 */
const LEAVE_POLL_MS = 500;

const REMOVAL_WHY: Record<Removal['why'], string> = {
  'pod-gone': 'its pod is gone',
  'previous-incarnation': 'its pod came back without the data',
  'stale-add': 'it was added but never started',
  'scale-down': 'its ordinal is beyond the StatefulSet replicas',
  'join-stalled': 'its join stalled',
};

/** Removes one member (already gone is fine), counts, logs and reports it with why. */
export async function removeMember(
  ctx: BootContext,
  etcd: EtcdApi,
  r: Removal,
  kind: ChangeKind = 'remove',
): Promise<void> {
  await retry(`remove member ${r.id}`, () => etcd.memberRemove(r.id), { ...ctx, attempts: 5 }).catch((err) => {
    if (!isReason(err, 'member-not-found')) throw err;
  });
  ctx.metrics.change(kind);
  ctx.log.info('member removed', { memberId: r.id, member: r.name, why: r.why });
  ctx.events.emit(
    'MemberRemoved',
    `member ${r.name || '(unstarted)'} ${r.id} removed by ${ctx.self.name}: ${REMOVAL_WHY[r.why]} (${r.why})`,
    r.name || undefined,
  );
}

/**
 * Under the membership lock: decide again (the cluster may have changed while waiting for the lock),
 * carry out the removals, add myself as a learner (or reuse my own unstarted add after a crash).
 * Returns etcd's flags for joining and my member ID, or undefined when the plan is no longer a join.
 */
export async function joinCluster(
  ctx: BootContext,
  seen: Observed,
  quiet: Quiet,
): Promise<{ args: string[]; memberId: string } | undefined> {
  const asked = ctx.clock.now();
  return withEtcd(ctx, seen.endpoints, (etcd) =>
    etcd.withLock(MEMBERSHIP_LOCK, LOCK_TTL_S, async () => {
      ctx.phases.add('lock', ctx.clock.now() - asked);
      const { plan } = await look(ctx, quiet);
      if (plan.kind !== 'join') return undefined;
      for (const r of plan.removals) await ctx.phases.time('remove', () => removeMember(ctx, etcd, r));
      let id = plan.reuseMemberId;
      let members: Member[];
      if (id) {
        members = (await etcd.memberList()).members;
        ctx.log.info('reusing my earlier add', { memberId: id });
      } else {
        // a few quick tries (strict reconfig refuses for a few seconds after a removal), then the lock
        // is released and the loop decides again
        const add = () => etcd.memberAdd([ctx.self.peerUrl], true);
        const added = await ctx.phases.time('add', () =>
          retry('add myself as a learner', add, { ...ctx, attempts: 4, maxMs: 1000 }),
        );
        id = added.member.id;
        members = added.members;
        ctx.metrics.change('add');
        ctx.log.info('member added', { memberId: id, peerUrl: ctx.self.peerUrl, learner: true });
        ctx.events.emit('MemberJoined', `${ctx.self.name} added member ${id} (${ctx.self.peerUrl}) as a learner`);
      }
      const args = ['--initial-cluster', initialCluster(members, id, ctx.self), '--initial-cluster-state', 'existing'];
      return { args, memberId: id };
    }),
  );
}

/**
 * Promotes this member if it is a learner, once it has caught up (etcd refuses before). The join
 * watchdog ends the wait when the learner stops progressing; `stopped` ends the polling early (my etcd
 * exited, or waiting for it failed).
 */
export async function promoteSelf(
  ctx: BootContext,
  etcd: EtcdApi,
  myId: string,
  watch: JoinWatchdog,
  stopped?: AbortSignal,
): Promise<void> {
  for (;;) {
    if (stopped?.aborted)
      throw new DeisError('etcd-exited', 'stopped promoting this member: its etcd is no longer starting');
    const me = (
      await retry('member list', () => etcd.memberList(), { ...ctx, signal: stopped ?? ctx.signal })
    ).members.find((m) => m.id === myId);
    if (!me?.isLearner) return;
    try {
      await etcd.memberPromote(myId);
      ctx.metrics.change('promote');
      ctx.log.info('member promoted', { memberId: myId });
      ctx.events.emit('LearnerPromoted', `learner ${ctx.self.name} ${myId} promoted to a voting member`);
      return;
    } catch (err) {
      if (!(err instanceof DeisError && err.retryable)) throw err;
      await watch.check();
      await ctx.clock.sleep(PROMOTE_POLL_MS, stopped ?? ctx.signal);
    }
  }
}

/**
 * Gives a stalled join up: etcd stops, the learner is removed through the voters (a learner never
 * counts for quorum, so that is always safe), and its data is moved aside (kept, never deleted).
 */
export async function abandonJoin(
  ctx: BootContext,
  stop: () => Promise<unknown>,
  voters: string[],
  learnerId: string | undefined,
): Promise<void> {
  const id = learnerId ?? ctx.member.id;
  await stop();
  if (id)
    await withEtcd(ctx, voters, (etcd) =>
      removeMember(ctx, etcd, { id, name: ctx.self.name, why: 'join-stalled' }, 'remove-self'),
    );
  const aside = await moveDataAside(ctx, 'stalled');
  ctx.member.id = undefined;
  ctx.metrics.inc('deis_etcd_join_retries_total', { reason: 'stalled' });
  ctx.log.warn('stalled join given up: learner removed, data moved aside; joining again', {
    memberId: id,
    movedTo: aside,
  });
  ctx.events.emit(
    'JoinStalled',
    `learner ${ctx.self.name} ${id ?? ''} stopped progressing: removed, data moved to ${aside}, joining again`,
  );
}

/** Moves the member's data to member.<label>-<time> in the data dir (kept, never deleted). */
export async function moveDataAside(ctx: BootContext, label: 'removed' | 'stalled'): Promise<string> {
  const aside = join(
    ctx.cfg.dataDir,
    `member.${label}-${new Date(ctx.clock.now()).toISOString().replace(/[:.]/g, '')}`,
  );
  await ctx.files.rename(join(ctx.cfg.dataDir, 'member'), aside);
  return aside;
}

/** Moves leadership to `to` (else any healthy voter) when this member leads. */
async function handOff(
  ctx: BootContext,
  etcd: EtcdApi,
  views: MemberView[],
  leader: string,
  to?: string,
): Promise<void> {
  const myId = ctx.member.id;
  if (leader !== myId) return;
  const target = to ?? views.find((m) => m.id !== myId && !m.isLearner && m.healthy)?.id;
  if (!target) return;
  await etcd.moveLeader(target);
  ctx.log.info('leadership moved', { to: target });
}

/**
 * On a stop: an ordinary restart only hands leadership away, it never removes the member. When the
 * pod is going away for good (its ordinal is at or beyond the replicas), etcd keeps serving until the
 * leader's scale-down pass has removed this member (removals stay serialized on the leader, each
 * keeping quorum, with no lock contention from the leavers); a leaving leader first hands leadership
 * to a member that stays. Bounded by --leave-timeout; past it, the leader (or a quorum-loss recovery)
 * finishes the job without this member.
 */
export async function leave(ctx: BootContext, etcdRunning: () => boolean): Promise<void> {
  const myId = ctx.member.id;
  if (!myId) return;
  let scale: Awaited<ReturnType<typeof scaleOf>>;
  try {
    scale = await scaleOf(ctx);
  } catch (err) {
    ctx.log.warn('cannot tell a scale-down from a restart; keeping the member', { err });
  }
  const scaleDown = !!scale && scale.replicas !== undefined && isLeaving(scale.ordinal, scale.replicas);
  if (scale) ctx.log.info('stopping', { ordinal: scale.ordinal, replicas: scale.replicas, scaleDown });
  if (!scale || !scaleDown || scale.replicas === undefined) {
    await withLocal(ctx, async (etcd) => {
      const st = await etcd.status(ctx.self.clientUrl);
      await handOff(ctx, etcd, await memberViews(etcd, (await etcd.memberList()).members), st.leader);
    }).catch((err) => ctx.log.warn('handing leadership away failed', { err }));
    return;
  }
  const { set, replicas } = scale;
  const deadline = ctx.clock.now() + ctx.cfg.leaveTimeoutS * 1000;
  let lastErr: unknown;
  while (etcdRunning() && ctx.clock.now() < deadline) {
    const removed = await withLocal(ctx, async (etcd) => {
      const st = await etcd.status(ctx.self.clientUrl);
      const { members } = await etcd.memberList();
      if (!members.some((m) => m.id === myId)) return true;
      if (st.leader === myId) {
        const step = scaleDownStep(await memberViews(etcd, members), st.leader, set, replicas);
        if (step?.kind === 'move-leader') await handOff(ctx, etcd, [], st.leader, step.to);
      }
      return false;
    }).catch((err) => {
      lastErr = err;
      return false;
    });
    if (removed) {
      ctx.log.info('removed by the leader (scale-down)', { memberId: myId });
      return;
    }
    await ctx.clock.sleep(LEAVE_POLL_MS); // not ctx.signal: this runs after the stop was asked for
  }
  if (!etcdRunning()) {
    ctx.log.info('etcd stopped while leaving: removed by the leader (scale-down)', { memberId: myId });
    return;
  }
  ctx.log.warn('stopping before this member was removed; the leader removes it once quorum allows', { err: lastErr });
}
