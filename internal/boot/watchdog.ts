// The join watchdog: a joining learner must keep applying. Its applied index is read from etcd's own
// metrics listener (etcd_server_proposals_applied_total), which answers while the client port does not
// (etcd serves clients only once it has published itself, which is where a stalled learner hangs:
// etcd-io/etcd#16436). No progress for --join-stall-timeout, or no promotion within --start-timeout,
// fails with reason 'join-stalled'; the caller gives the join up and tries again.
import { DeisError } from '../errors.ts';
import { urlHost } from '../net.ts';
import type { BootContext } from './context.ts';

const APPLIED = /^etcd_server_proposals_applied_total\s+([0-9.e+]+)\s*$/m;

export class JoinWatchdog {
  private readonly ctx: BootContext;
  private readonly deadline: number;
  private best = -1;
  private since: number;

  constructor(ctx: BootContext) {
    this.ctx = ctx;
    this.since = ctx.clock.now();
    this.deadline = this.since + ctx.cfg.startTimeoutS * 1000;
  }

  /** etcd's applied index from its metrics listener; undefined when it does not answer. */
  async applied(): Promise<number | undefined> {
    const { cfg, self } = this.ctx;
    if (!cfg.etcdMetricsPort) return undefined;
    try {
      const res = await this.ctx.fetch(
        `http://${urlHost(cfg.listenHost ?? self.host)}:${cfg.etcdMetricsPort}/metrics`,
        { signal: AbortSignal.timeout(1000) },
      );
      const m = APPLIED.exec(await res.text());
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Throws 'join-stalled' when the learner has stopped progressing or ran out of time; else the
   * applied index it read (undefined when etcd's metrics listener did not answer).
   */
  async check(): Promise<number | undefined> {
    const now = this.ctx.clock.now();
    const applied = await this.applied();
    if (applied !== undefined && applied > this.best) {
      this.best = applied;
      this.since = now;
    }
    const idleS = Math.round((now - this.since) / 1000);
    const stalled = this.ctx.cfg.etcdMetricsPort > 0 && now - this.since > this.ctx.cfg.joinStallS * 1000;
    if (!stalled && now <= this.deadline) return applied;
    const why = stalled
      ? `applied index ${this.best < 0 ? 'unknown' : this.best} unchanged for ${idleS} s`
      : `not promoted within ${this.ctx.cfg.startTimeoutS} s`;
    throw new DeisError('membership', `join stalled: ${why}`, { reason: 'join-stalled', retryable: true });
  }
}
