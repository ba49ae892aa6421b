// The phase split of `make bench`: boot logs where its time to ready went ("member ready" carries a
// `phases` object, internal/boot/phases.ts); the bench collects it from every boot it measures and
// prints the medians per phase beside the totals, so a reader sees where the milliseconds go.

export type PhaseMs = Record<string, number>;

/** The last "member ready" entry of a boot's log: its phases and when it was written (epoch ms). */
export function readyEntry(log: string): { phases: PhaseMs; at: number } | undefined {
  let found: { phases: PhaseMs; at: number } | undefined;
  for (const line of log.split('\n')) {
    if (!line.includes('"member ready"')) continue;
    try {
      const e = JSON.parse(line.slice(line.indexOf('{'))) as { msg?: string; phases?: PhaseMs; time?: string };
      if (e.msg === 'member ready' && e.phases && e.time) found = { phases: e.phases, at: Date.parse(e.time) };
    } catch {
      /* not a JSON line */
    }
  }
  return found;
}

/** When each of `msgs` was first logged at or after `since` (epoch ms), from a boot's JSON log. */
export function logTimes(log: string, msgs: string[], since: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of log.split('\n')) {
    const at = line.indexOf('{');
    if (at < 0 || !msgs.some((m) => line.includes(`"${m}"`))) continue;
    try {
      const e = JSON.parse(line.slice(at)) as { msg?: string; time?: string };
      const t = e.time ? Date.parse(e.time) : NaN;
      if (e.msg && msgs.includes(e.msg) && t >= since) out[e.msg] ??= t;
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

/** Median per phase over the samples (a phase absent from a sample counts as 0 there). */
export function medians(samples: PhaseMs[]): PhaseMs {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s)))];
  return Object.fromEntries(names.map((n) => [n, median(samples.map((s) => s[n] ?? 0))]));
}

/** The order phases happen in, for the table; unknown ones go last. */
const order = [
  'runtime',
  'identity',
  'observe.data',
  'observe.registry',
  'observe.kube',
  'observe.scale',
  'observe.etcd',
  'decide',
  'wait',
  'lock',
  'remove',
  'add',
  'etcd-start',
  'promote',
  'heartbeat',
  'total',
];

/** A markdown table: one row per phase, one column per measure (median ms). */
export function phaseTable(columns: Record<string, PhaseMs>): string {
  const names = [...new Set(Object.values(columns).flatMap((c) => Object.keys(c)))].sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99),
  );
  const heads = Object.keys(columns);
  return [
    `| boot phase (median ms; phases overlap) | ${heads.join(' | ')} |`,
    `|---|${heads.map(() => '---').join('|')}|`,
    ...names.map((n) => `| ${n} | ${heads.map((h) => (columns[h]![n] ?? 0).toFixed(0)).join(' | ')} |`),
  ].join('\n');
}
