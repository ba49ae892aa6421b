// A joining member's first publish, and how boot tells that it was lost. A learner with an empty
// data dir that joins a cluster past 5000 raft entries gets a snapshot (etcd 3.6 compacts its raft
// log to 5000 entries behind an in-memory snapshot taken every 100 applied entries). The leader cuts
// that snapshot at its current applied index, which usually already holds the learner's first
// publish: the learner then waits for that entry, never applies it, and publishes again only after
// etcd's request timeout (7 s). Its etcd restarted publishes at once. Upstream: the same symptom as
// etcd-io/etcd#16436 (open).
import { DeisError } from '../errors.ts';
import type { Start } from './act.ts';
import { withEtcd, type BootContext } from './context.ts';
import type { JoinWatchdog } from './watchdog.ts';

/**
 * Once the voters list this member as published and its local etcd has applied as far as they had
 * then, an etcd that still does not serve this long after never saw its publish applied: a publish
 * applied as an entry makes etcd serve within milliseconds. The health look after it is as short.
 */
export const CAUGHT_UP_GRACE_MS = 150;
/**
 * Fallback, for when the voters' applied index cannot be read: how long a promoted member may go
 * without publishing itself.
 */
const PUBLISH_GRACE_MS = 1500;
/** The same, sooner, when the voters' member list already shows this member published. */
const PUBLISHED_LAG_MS = 500;

/** The lost-publish watch of one start of etcd: `beforeLook` and `afterFailedLook` around each health look. */
export class PublishWatch {
  private readonly ctx: BootContext;
  private readonly start: Start;
  private readonly watch: JoinWatchdog;
  /** When the promotion returned; set by the caller. */
  promotedAt: number | undefined;
  /** The voters' highest applied index once they listed this member published: the publish is at or below it. */
  private mark: number | undefined;
  private caughtUpAt: number | undefined;

  constructor(ctx: BootContext, start: Start, watch: JoinWatchdog) {
    this.ctx = ctx;
    this.start = start;
    this.watch = watch;
  }

  private get joining(): boolean {
    return this.start.plan === 'join' && this.start.memberId !== undefined && this.start.endpoints.length > 0;
  }

  /**
   * Notes whether the local etcd (which has applied `applied`) has caught up with the mark, and
   * returns how long the coming health look may take. While a learner's etcd runs (its metrics
   * answer), no longer than the grace: it serves only once it has published itself, so a longer look
   * would only delay the next check (a look that runs out doubles: with 500 ms looks, 5 of 40 bench
   * heals found their lost publish ~550 ms after the snapshot, not ~200). Else `lookMs`.
   */
  async beforeLook(applied: number | undefined, lookMs: number): Promise<number> {
    if (!this.joining || applied === undefined) return lookMs; // not a join, or etcd does not answer yet
    if (applied > 0) {
      this.mark ??= await this.publishedMark();
      if (this.mark !== undefined && applied >= this.mark) this.caughtUpAt ??= this.ctx.clock.now();
    }
    return Math.min(lookMs, CAUGHT_UP_GRACE_MS);
  }

  /**
   * After a look that found etcd not serving: throws 'publish-lost' when its publish is lost. Only an
   * etcd that still answers on its metrics listener after the look (it runs and applies) lost its
   * publish; one that stopped answering is stalled (paused, starved), which the join watchdog gives up
   * on instead: `applied` was read before the look, and a pause that came in between would otherwise
   * pass for a lost publish.
   */
  async afterFailedLook(applied: number | undefined): Promise<void> {
    if (!this.joining || applied === undefined) return;
    const why = await this.lostBecause();
    if (why && (await this.watch.applied()) !== undefined) throw lost(why);
  }

  /** Why the publish is lost, or undefined while it may still come. */
  private async lostBecause(): Promise<string | undefined> {
    const now = this.ctx.clock.now();
    if (this.caughtUpAt !== undefined && now - this.caughtUpAt >= CAUGHT_UP_GRACE_MS)
      return (
        `etcd has applied index ${this.mark} or later (past its own publish, which the voters list) and does not ` +
        `serve ${Math.round(now - this.caughtUpAt)} ms later`
      );
    const since = this.promotedAt === undefined ? 0 : now - this.promotedAt;
    if (since > PUBLISH_GRACE_MS || (since > PUBLISHED_LAG_MS && (await this.publishedInCluster())))
      return `etcd has not published itself ${Math.round(since)} ms after its promotion`;
    return undefined;
  }

  /** The voters' highest applied index once they list this member as published; undefined before, or when unsure. */
  private publishedMark(): Promise<number | undefined> {
    return withEtcd(this.ctx, this.start.endpoints, async (voters) => {
      const { members } = await voters.memberList();
      if (!members.some((m) => this.isPublished(m))) return undefined;
      const urls = members
        .filter((m) => !m.isLearner && m.id !== this.start.memberId)
        .flatMap((m) => m.clientUrls.slice(0, 1));
      const applied = (await Promise.allSettled(urls.map((u) => voters.status(u)))).flatMap((r) =>
        r.status === 'fulfilled' ? [r.value.raftAppliedIndex] : [],
      );
      return applied.length ? Math.max(...applied) : undefined;
    }).catch(() => undefined);
  }

  /** Whether the voters list this member as published; false when unsure. */
  private publishedInCluster(): Promise<boolean> {
    return withEtcd(this.ctx, this.start.endpoints, async (voters) =>
      (await voters.memberList()).members.some((m) => this.isPublished(m)),
    ).catch(() => false);
  }

  private isPublished(m: { id: string; name: string; clientUrls: string[] }): boolean {
    return m.id === this.start.memberId && !!m.name && m.clientUrls.length > 0;
  }
}

function lost(what: string): DeisError {
  return new DeisError('membership', `${what} (its publish was applied inside the snapshot it received)`, {
    reason: 'publish-lost',
    retryable: true,
  });
}
