// The chaos suite's report: heal times by fault kind (p50/p99/max), the workload's counts, acknowledged
// writes lost and the porcupine verdict, as a JSON document (bench/results/chaos-<time>.json) and
// as the markdown tables the README carries.
import type { ChaosResult } from './chaos.ts';

export interface HealStats {
  count: number;
  healed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function stats(heals: { healMs: number; healed: boolean }[]): HealStats {
  const ms = heals
    .filter((h) => h.healed)
    .map((h) => h.healMs)
    .sort((a, b) => a - b);
  return {
    count: heals.length,
    healed: ms.length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    maxMs: ms.length ? ms[ms.length - 1]! : 0,
  };
}

export interface Report extends Omit<ChaosResult, 'history'> {
  etcd: string;
  at: string;
  heal: HealStats;
  byKind: Record<string, HealStats>;
  /** the overlay the run deployed, and whether partition faults could run */
  overlay?: string;
  partitions?: boolean;
}

export function report(r: ChaosResult, etcd: string, at = new Date().toISOString()): Report {
  const kinds = [...new Set(r.faults.map((f) => f.kind))].sort();
  const byKind = Object.fromEntries(kinds.map((k) => [k, stats(r.faults.filter((f) => f.kind === k))]));
  const { history: _, ...rest } = r; // the history goes to a file of its own
  return { ...rest, etcd, at, heal: stats(r.faults), byKind };
}

const s = (ms: number) => (ms / 1000).toFixed(1);

/** The markdown tables: heal times by kind, then the workload and the checks. */
export function markdown(rep: Report): string {
  const row = (name: string, h: HealStats) =>
    `| ${name} | ${h.count} | ${h.healed} | ${s(h.p50Ms)} | ${s(h.p99Ms)} | ${s(h.maxMs)} |`;
  const lin =
    rep.verdict.linearizable === true ? 'yes' : rep.verdict.linearizable === false ? 'NO' : 'unknown (timeout)';
  return [
    `chaos run ${rep.at}: seed ${rep.seed}, etcd ${rep.etcd}, ${rep.faults.length} of ${rep.faultsRequested} faults, ` +
      (rep.overlay ? `overlay ${rep.overlay}, partitions ${rep.partitions ? 'on' : 'off'}, ` : '') +
      `${s(rep.durationMs)} s${rep.stoppedEarly ? ` (stopped early: ${rep.stoppedEarly})` : ''}`,
    '',
    '| fault | count | healed | heal p50 s | heal p99 s | heal max s |',
    '|---|---|---|---|---|---|',
    ...Object.entries(rep.byKind).map(([k, h]) => row(k, h)),
    row('**all**', rep.heal),
    '',
    '| ops | acked | failed | unknown | acked writes lost | linearizable (porcupine) |',
    '|---|---|---|---|---|---|',
    `| ${rep.ops.total} (${rep.ops.puts} puts, ${rep.ops.gets} gets) | ${rep.ops.acked} | ${rep.ops.failed} | ` +
      `${rep.ops.unknown} | ${rep.readBackError ? 'not read back' : rep.ackedWritesLost} | ` +
      `${lin} (${rep.verdict.checked} ops checked) |`,
  ].join('\n');
}

/** Whether the run kept every promise: all faults healed, nothing acknowledged lost, linearizable. */
export function passed(rep: Omit<ChaosResult, 'history'>): boolean {
  return (
    !rep.stoppedEarly &&
    !rep.readBackError &&
    rep.faults.every((f) => f.healed) &&
    rep.ackedWritesLost === 0 &&
    rep.verdict.linearizable === true
  );
}
