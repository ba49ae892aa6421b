// Where a boot's time goes, phase by phase, from the process's start to ready: the runtime's own start
// (loading the program), learning its identity,
// observing (each source on its own), deciding, waiting for the membership lock, removals, the add,
// etcd's start to first health, the promotion, the heartbeat. Logged with "member ready" and
// exported on /metrics (the histogram deis_etcd_boot_phase_seconds, by phase), read by the bench to split its totals.
// Phases can overlap (sources are observed together; the promotion runs while etcd starts), so
// their sum need not be the total.
import type { Clock } from '../clock.ts';

export type Phase =
  | 'runtime'
  | 'identity'
  | 'observe.data'
  | 'observe.registry'
  | 'observe.kube'
  | 'observe.scale'
  | 'observe.etcd'
  | 'decide'
  | 'wait'
  | 'lock'
  | 'remove'
  | 'add'
  | 'etcd-start'
  | 'promote'
  | 'heartbeat';

export class Phases {
  private readonly spent = new Map<Phase, number>();
  private readonly t0: number;
  private readonly clock: Pick<Clock, 'now'>;

  /** `startedAt`: when the process started (epoch ms); the time until now is the runtime's own start. */
  constructor(clock: Pick<Clock, 'now'>, startedAt?: number) {
    this.clock = clock;
    this.t0 = startedAt ?? clock.now();
    if (startedAt !== undefined) this.add('runtime', Math.max(0, clock.now() - startedAt));
  }

  /** Adds ms to a phase (a phase that repeats, e.g. observe in each round, sums). */
  add(phase: Phase, ms: number): void {
    this.spent.set(phase, (this.spent.get(phase) ?? 0) + ms);
  }

  /** Runs fn and adds its time to the phase, whether it resolves or rejects. */
  async time<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    try {
      return await fn();
    } finally {
      this.add(phase, this.clock.now() - start);
    }
  }

  /** Since this boot started, in ms. */
  elapsed(): number {
    return this.clock.now() - this.t0;
  }

  /** Every phase seen, in ms, and the total so far. */
  summary(): Partial<Record<Phase, number>> & { total: number } {
    const out: Partial<Record<Phase, number>> = {};
    for (const [p, ms] of this.spent) out[p] = Math.round(ms);
    return { ...out, total: Math.round(this.elapsed()) };
  }
}

/** Times fn under phases when there are phases to time with (observers outside boot pass none). */
export function timed<T>(phases: Phases | undefined, phase: Phase, fn: () => Promise<T>): Promise<T> {
  return phases ? phases.time(phase, fn) : fn();
}
