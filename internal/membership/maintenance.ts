// PURE: the leader's maintenance decision. Given every member's database sizes and health, the
// leader and the raised alarms, say which members to defragment (in order: followers before the
// leader, one at a time), whether to compact the history first, and which alarms to clear afterwards.
// No I/O here: internal/boot/maintenance.ts carries the plan out.

/** One member as the maintenance pass sees it. */
export interface DbView {
  id: string;
  name: string;
  /** It answered the status call (a missing or stopped member did not). */
  healthy: boolean;
  isLearner: boolean;
  /** Its database file's size and the part in use, in bytes. */
  dbSize: number;
  dbSizeInUse: number;
}

export interface RaisedAlarm {
  memberId: string;
  alarm: 'NOSPACE' | 'CORRUPT';
}

export interface DefragPolicy {
  /** Percent of the file not in use at which a member is defragmented; 0: never for that reason. */
  thresholdPct: number;
  /** Below this file size the unused share does not count. */
  minBytes: number;
}

export interface DefragStep {
  id: string;
  name: string;
  why: 'nospace' | 'fragmented';
  /** The unused share, 0..1, when decided. */
  unused: number;
}

export type MaintenancePlan =
  | { kind: 'none' }
  /** Something is due but must not happen now (a member missing, a learner catching up, corruption). */
  | { kind: 'wait'; why: string }
  | {
      kind: 'defrag';
      /** Compact the history to the current revision first (NOSPACE: the space is held by old revisions). */
      compact: boolean;
      steps: DefragStep[];
      /** Alarms to clear once every step is done. */
      disarm: RaisedAlarm[];
    };

/** The unused share of a member's database file, 0..1. */
export function unusedShare(v: Pick<DbView, 'dbSize' | 'dbSizeInUse'>): number {
  return v.dbSize > 0 ? Math.max(0, v.dbSize - v.dbSizeInUse) / v.dbSize : 0;
}

/**
 * The maintenance plan. A NOSPACE alarm compacts the history, defragments every member (followers
 * first, the leader last) and then clears the alarms; otherwise the first member (followers first)
 * whose unused share passes the threshold is defragmented, one per pass. Nothing happens while a
 * member does not answer or a learner is catching up (a defragmentation blocks the member it runs on:
 * with one member already missing that could cost quorum), nor under a CORRUPT alarm (a person must
 * look: defragmenting would rewrite the evidence).
 */
export function planMaintenance(
  views: readonly DbView[],
  leader: string,
  alarms: readonly RaisedAlarm[],
  policy: DefragPolicy,
): MaintenancePlan {
  const corrupt = alarms.find((a) => a.alarm === 'CORRUPT');
  if (corrupt) return { kind: 'wait', why: `CORRUPT alarm raised on member ${corrupt.memberId}` };
  const nospace = alarms.filter((a) => a.alarm === 'NOSPACE');
  const ordered = [...views].sort((a, b) => Number(a.id === leader) - Number(b.id === leader) || cmp(a.name, b.name));
  const fragmented = ordered.filter(
    (v) => policy.thresholdPct > 0 && v.dbSize >= policy.minBytes && unusedShare(v) * 100 >= policy.thresholdPct,
  );
  if (!nospace.length && !fragmented.length) return { kind: 'none' };
  const missing = views.find((v) => !v.healthy);
  if (missing) return { kind: 'wait', why: `member ${missing.name || missing.id} does not answer` };
  const learner = views.find((v) => v.isLearner);
  if (learner) return { kind: 'wait', why: `learner ${learner.name || learner.id} is catching up` };
  if (nospace.length) {
    return {
      kind: 'defrag',
      compact: true,
      steps: ordered.map((v) => ({ id: v.id, name: v.name, why: 'nospace', unused: unusedShare(v) })),
      disarm: nospace,
    };
  }
  const first = fragmented[0]!;
  return {
    kind: 'defrag',
    compact: false,
    steps: [{ id: first.id, name: first.name, why: 'fragmented', unused: unusedShare(first) }],
    disarm: [],
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
