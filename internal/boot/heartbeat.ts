// This member's heartbeat record in the discovery service: kept alive on a lease, re-created when the
// lease is lost (discovery restarted, a partition), revoked on a clean stop so the record goes at once.
import type { Heartbeat, Registry } from '../discovery/registry.ts';
import type { Logger } from '../log/log.ts';

export class HeartbeatKeeper {
  private handle: { refresh(): Promise<void>; stop(): Promise<void> } | undefined;
  private readonly registry: Registry | undefined;
  private readonly record: () => Heartbeat;
  private readonly log: Logger;

  constructor(registry: Registry | undefined, record: () => Heartbeat, log: Logger) {
    this.registry = registry;
    this.record = record;
    this.log = log;
  }

  /** Writes the record (a new lease if there is none); a failure is logged and retried next time. */
  async ensure(): Promise<void> {
    if (!this.registry) return;
    try {
      if (this.handle) await this.handle.refresh();
      else this.handle = await this.registry.heartbeat(this.record);
    } catch (err) {
      this.log.warn('heartbeat failed', { err });
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.stop().catch(() => undefined);
  }
}
