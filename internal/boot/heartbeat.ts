// Records boot keeps alive in the discovery service on a lease: this member's heartbeat, and the
// announcement that this pod waits without member data. Re-created when the lease is lost (discovery
// restarted, a partition); revoked on stop so that the record goes at once.
import type { LeasedRecord } from '../discovery/registry.ts';
import type { Logger } from '../log/log.ts';

export class LeaseKeeper {
  private handle: LeasedRecord | undefined;
  private readonly open: (() => Promise<LeasedRecord>) | undefined;
  private readonly log: Logger;
  private readonly what: string;

  /** `open` writes the record on a new lease; undefined without a discovery service. */
  constructor(open: (() => Promise<LeasedRecord>) | undefined, log: Logger, what: string) {
    this.open = open;
    this.log = log;
    this.what = what;
  }

  /** Writes the record (a new lease if there is none); a failure is logged and retried next time. */
  async ensure(): Promise<void> {
    if (!this.open) return;
    try {
      if (this.handle) await this.handle.refresh();
      else this.handle = await this.open();
    } catch (err) {
      this.log.warn(`${this.what} failed`, { err });
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.stop().catch(() => undefined);
  }
}
