// The leader's maintenance pass: reads every member's database sizes and the cluster's alarms, asks
// the pure planMaintenance() what to do, and does it: compact (under NOSPACE), defragment one member at
// a time (followers first, each checked to answer just before), then clear the alarms. Logged and
// counted on /metrics (defragmentations and their seconds, alarms raised and cleared).
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import { planMaintenance, type DbView, type MaintenancePlan } from '../membership/maintenance.ts';
import { snapshotsOf, takenAt } from '../snapshot/names.ts';
import { withLocal, type BootContext } from './context.ts';

/** What one pass did, for the log and for tests. */
export interface MaintenanceResult {
  plan: MaintenancePlan['kind'];
  /** Why it waited, when it did. */
  why?: string;
  compactedAt?: number;
  defragmented: string[];
  disarmed: string[];
}

/** The status of every member through its own client URL; a member that does not answer is unhealthy. */
async function dbViews(etcd: EtcdApi): Promise<DbView[]> {
  const { members } = await etcd.memberList();
  return Promise.all(
    members.map(async (m) => {
      const url = m.clientUrls[0];
      const base = { id: m.id, name: m.name, isLearner: m.isLearner };
      if (!url) return { ...base, healthy: false, dbSize: 0, dbSizeInUse: 0 };
      try {
        const st = await etcd.status(url);
        return { ...base, healthy: true, dbSize: st.dbSize, dbSizeInUse: st.dbSizeInUse };
      } catch {
        return { ...base, healthy: false, dbSize: 0, dbSizeInUse: 0 };
      }
    }),
  );
}

/** One maintenance pass against this member's own etcd; it acts only on the leader. */
export async function maintenancePass(ctx: BootContext): Promise<MaintenanceResult | undefined> {
  return withLocal(ctx, async (etcd) => {
    const st = await etcd.status(ctx.self.clientUrl);
    if (st.leader !== ctx.member.id) return undefined;
    const alarms = await etcd.alarms();
    for (const kind of ['NOSPACE', 'CORRUPT'] as const)
      ctx.metrics.set('deis_etcd_alarms', alarms.filter((a) => a.alarm === kind).length, { alarm: kind });
    const views = await dbViews(etcd);
    for (const v of views.filter((x) => x.healthy))
      ctx.metrics.set('deis_etcd_db_unused_bytes', Math.max(0, v.dbSize - v.dbSizeInUse), { member: v.name || v.id });
    const plan = planMaintenance(views, st.leader, alarms, {
      thresholdPct: ctx.cfg.defragThresholdPct,
      minBytes: ctx.cfg.defragMinBytes,
    });
    const out: MaintenanceResult = { plan: plan.kind, defragmented: [], disarmed: [] };
    if (plan.kind === 'none') return out;
    if (plan.kind === 'wait') {
      out.why = plan.why;
      if (alarms.length) ctx.log.warn('maintenance waits', { why: plan.why, alarms: alarms.map((a) => a.alarm) });
      return out;
    }
    if (plan.compact) {
      // the space NOSPACE complains about is held by old revisions: only a compaction frees it for reuse
      const now = await etcd.status(ctx.self.clientUrl);
      await etcd.compact(now.revision);
      out.compactedAt = now.revision;
      ctx.log.warn('history compacted', { revision: now.revision, why: 'nospace' });
    }
    const urls = new Map((await etcd.memberList()).members.map((m) => [m.id, m.clientUrls[0]]));
    for (const step of plan.steps) {
      const url = urls.get(step.id);
      if (!url) throw new DeisError('membership', `member ${step.id} left during maintenance`, { retryable: true });
      await etcd.status(url); // it still answers: never defragment while another member is missing
      const started = ctx.clock.now();
      await etcd.defragment(url);
      const seconds = (ctx.clock.now() - started) / 1000;
      const after = await etcd.status(url);
      ctx.metrics.inc('deis_etcd_defrags_total', { reason: step.why });
      ctx.metrics.inc('deis_etcd_defrag_seconds_total', undefined, seconds);
      ctx.log.info('member defragmented', {
        memberId: step.id,
        member: step.name,
        why: step.why,
        unusedBefore: Math.round(step.unused * 100) / 100,
        dbSizeAfter: after.dbSize,
        seconds,
      });
      ctx.events.emit(
        'Defragmented',
        `member ${step.name} (${step.id}) defragmented (${step.why}) in ${seconds.toFixed(1)} s`,
        step.name,
      );
      out.defragmented.push(step.id);
    }
    for (const a of plan.disarm) {
      await etcd.disarm(a);
      ctx.metrics.inc('deis_etcd_alarms_disarmed_total', { alarm: a.alarm });
      ctx.log.warn('alarm disarmed', { memberId: a.memberId, alarm: a.alarm });
      ctx.events.emit('AlarmDisarmed', `${a.alarm} alarm of member ${a.memberId} disarmed`);
      out.disarmed.push(a.memberId);
    }
    return out;
  });
}

/**
 * When the snapshot directory is mounted here (--restore-dir): how many snapshots of the prefix it
 * holds and when the newest was taken, on /metrics (an alert on its age catches a failing schedule).
 */
export async function snapshotMetrics(ctx: BootContext): Promise<void> {
  const { restoreDir, restorePrefix } = ctx.cfg;
  if (!restoreDir) return;
  const mine = snapshotsOf(restorePrefix, (await ctx.files.list(restoreDir)) ?? []);
  ctx.metrics.set('deis_etcd_snapshots', mine.length);
  const newest = mine[0] && takenAt(restorePrefix, mine[0]);
  if (newest) ctx.metrics.set('deis_etcd_last_snapshot_timestamp_seconds', newest / 1000);
}
