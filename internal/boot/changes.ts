// Membership changes, each under the cluster's membership lock (in the member cluster's own
// keyspace, so a replacement proceeds while discovery is down): join (remove what must go, add myself
// as a learner), promote myself once caught up, remove one member, and leave on a scale-down.
import { DeisError, isReason } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import { statefulSetOrdinal } from '../identity/identity.ts';
import { canRemove, type Removal } from '../membership/decide.ts';
import { retry } from '../retry.ts';
import { initialCluster } from '../supervisor/etcd-args.ts';
import { withEtcd, type BootContext } from './context.ts';
import type { ChangeKind } from './metrics.ts';
import { look, memberViews, type Observed, type Quiet } from './observe.ts';

/** The lock key, in the member cluster's own keyspace, that serializes membership changes. */
export const MEMBERSHIP_LOCK = '/_deis-etcd/locks/membership';
const LOCK_TTL_S = 30;

/** Removes one member (already gone is fine), counts and logs it with why. */
export async function removeMember(ctx: BootContext, etcd: EtcdApi, r: Removal, kind: ChangeKind = 'remove'): Promise<void> {
  await retry(`remove member ${r.id}`, () => etcd.memberRemove(r.id), { ...ctx, attempts: 5 }).catch((err) => {
    if (!isReason(err, 'member-not-found')) throw err;
  });
  ctx.metrics.change(kind);
  ctx.log.info('member removed', { memberId: r.id, member: r.name, why: r.why });
}

/**
 * Under the membership lock: decide again (the cluster may have changed while waiting for the lock),
 * carry out the removals, add myself as a learner (or reuse my own unstarted add after a crash).
 * Returns etcd's flags for joining, or undefined when the plan is no longer a join.
 */
export async function joinCluster(ctx: BootContext, seen: Observed, quiet: Quiet): Promise<string[] | undefined> {
  return withEtcd(ctx, seen.endpoints, (etcd) => etcd.withLock(MEMBERSHIP_LOCK, LOCK_TTL_S, async () => {
    const { plan } = await look(ctx, quiet);
    if (plan.kind !== 'join') return undefined;
    for (const r of plan.removals) await removeMember(ctx, etcd, r);
    let id = plan.reuseMemberId;
    let members;
    if (id) {
      members = (await etcd.memberList()).members;
      ctx.log.info('reusing my earlier add', { memberId: id });
    } else {
      // a few quick tries (strict reconfig refuses for a few seconds after a removal), then the lock
      // is released and the loop decides again
      const add = () => etcd.memberAdd([ctx.self.peerUrl], true);
      const added = await retry('add myself as a learner', add, { ...ctx, attempts: 4, maxMs: 1000 });
      id = added.member.id;
      members = added.members;
      ctx.metrics.change('add');
      ctx.log.info('member added', { memberId: id, peerUrl: ctx.self.peerUrl, learner: true });
    }
    return ['--initial-cluster', initialCluster(members, id, ctx.self), '--initial-cluster-state', 'existing'];
  }));
}

/** Promotes this member if it is a learner, once it has caught up (etcd refuses before). */
export async function promoteSelf(ctx: BootContext, etcd: EtcdApi, myId: string): Promise<void> {
  const deadline = ctx.clock.now() + ctx.cfg.startTimeoutS * 1000;
  for (;;) {
    const me = (await retry('member list', () => etcd.memberList(), ctx)).members.find((m) => m.id === myId);
    if (!me?.isLearner) return;
    try {
      await etcd.memberPromote(myId);
      ctx.metrics.change('promote');
      ctx.log.info('member promoted', { memberId: myId });
      return;
    } catch (err) {
      if (!(err instanceof DeisError && err.retryable) || ctx.clock.now() > deadline) throw err;
      await ctx.clock.sleep(500, ctx.signal);
    }
  }
}

/** Whether this pod is going away for good: its StatefulSet ordinal is at or beyond the replicas. */
async function scaledAway(ctx: BootContext): Promise<boolean> {
  const ord = statefulSetOrdinal(ctx.self.name);
  if (!ctx.kube || !ord) return false;
  try {
    const replicas = await ctx.kube.statefulSetReplicas(ctx.cfg.statefulSet ?? ord.set);
    const scaleDown = replicas !== undefined && ord.ordinal >= replicas;
    ctx.log.info('stopping', { ordinal: ord.ordinal, replicas, scaleDown });
    return scaleDown;
  } catch (err) {
    ctx.log.warn('cannot tell a scale-down from a restart; keeping the member', { err });
    return false;
  }
}

/**
 * On a stop: hand leadership away, and only when the pod is going away for good remove this member.
 * An ordinary restart never removes it. Failures are logged: etcd is stopped either way.
 */
export async function leave(ctx: BootContext): Promise<void> {
  const myId = ctx.member.id;
  if (!myId) return;
  const scaleDown = await scaledAway(ctx);
  await withEtcd(ctx, [ctx.self.clientUrl], async (etcd) => {
    const st = await etcd.status(ctx.self.clientUrl);
    const views = await memberViews(etcd, (await etcd.memberList()).members);
    if (st.leader === myId) {
      const target = views.find((m) => m.id !== myId && !m.isLearner && m.healthy);
      if (target) {
        await etcd.moveLeader(target.id);
        ctx.log.info('leadership moved', { to: target.id });
      }
    }
    if (!scaleDown) return;
    if (!canRemove(views, myId)) {
      ctx.log.warn('not removing myself: the rest would have no healthy majority', {});
      return;
    }
    await etcd.withLock(MEMBERSHIP_LOCK, LOCK_TTL_S, () => removeMember(ctx, etcd, { id: myId, name: ctx.self.name, why: 'scale-down' }, 'remove-self'));
  }).catch((err) => ctx.log.warn('leaving the cluster cleanly failed', { err }));
}
