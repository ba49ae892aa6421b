// The Kubernetes Events boot reports (events.k8s.io/v1), so that `kubectl get events` and `kubectl
// describe` tell what the cluster did. One table of reasons; aggregation so a loop cannot flood the
// API: the same reason about the same object within AGGREGATE_WINDOW_MS patches the first Event's
// series (count, last seen) instead of creating another, at most once per PATCH_EVERY_MS. Writing an
// Event never stops boot: a refused or failed write is logged once, and boot goes on.
import type { EventObject, EventSink } from '../k8s/events.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/log.ts';

/** Every reason boot reports, with its type, action and the object it is about by default. */
export const EVENT_REASONS = {
  ClusterBootstrapped: {
    type: 'Normal',
    action: 'Bootstrap',
    about: 'set',
    means: 'a new cluster formed through discovery',
  },
  MemberJoined: {
    type: 'Normal',
    action: 'Join',
    about: 'pod',
    means: 'this pod added its member to the cluster (as a learner)',
  },
  LearnerPromoted: {
    type: 'Normal',
    action: 'Promote',
    about: 'pod',
    means: 'a caught-up learner became a voting member',
  },
  MemberRemoved: {
    type: 'Normal',
    action: 'Remove',
    about: 'pod',
    means: 'a member was removed, with why: pod-gone, previous-incarnation, scale-down, stale-add, join-stalled',
  },
  MemberLeft: { type: 'Normal', action: 'Leave', about: 'pod', means: 'a member scaled away left the cluster' },
  ClusterRebuilt: {
    type: 'Warning',
    action: 'Rebuild',
    about: 'set',
    means: 'the registry was reset for a new cluster, or a survivor forced a new cluster after quorum loss',
  },
  QuorumLost: { type: 'Warning', action: 'WatchQuorum', about: 'set', means: 'this member has seen no leader for 5 s' },
  QuorumRecovered: { type: 'Normal', action: 'WatchQuorum', about: 'set', means: 'a leader is back after QuorumLost' },
  JoinStalled: {
    type: 'Warning',
    action: 'Join',
    about: 'pod',
    means: 'a joining learner stopped progressing: removed, data moved aside, joining again',
  },
  Defragmented: {
    type: 'Normal',
    action: 'Defragment',
    about: 'pod',
    means: "the leader's maintenance pass defragmented a member (why: fragmented, or NOSPACE)",
  },
  AlarmDisarmed: {
    type: 'Warning',
    action: 'Disarm',
    about: 'set',
    means: 'the maintenance pass cleared an alarm (NOSPACE) after compacting and defragmenting',
  },
  CertificateRenewed: {
    type: 'Normal',
    action: 'Renew',
    about: 'pod',
    means: "this member's TLS certificate was renewed ahead of expiry (etcd keeps running)",
  },
} as const satisfies Record<
  string,
  { type: 'Normal' | 'Warning'; action: string; about: 'pod' | 'set'; means: string }
>;

export type EventReason = keyof typeof EVENT_REASONS;

/** Repeats of one reason about one object within this window patch the first Event. */
export const AGGREGATE_WINDOW_MS = 10 * 60_000;
/** A repeat patches the series at most this often (the count catches up with the next patch). */
export const PATCH_EVERY_MS = 5_000;
/** How long a stopping boot waits for its last Events to be written. */
export const FLUSH_TIMEOUT_MS = 3_000;

interface Series {
  name: Promise<string | undefined>;
  first: number;
  count: number;
  patchedAt: number;
}

export interface RecorderDeps {
  sink: EventSink | undefined;
  log: Logger;
  clock: Clock;
  /** This pod: the reporting instance, and the default object of pod reasons. */
  pod: string;
  /** The StatefulSet: the object of cluster-wide reasons. */
  statefulSet: string;
  /** Counts each reported reason (deis_etcd_events_total), written or not. */
  counted?: (reason: EventReason) => void;
}

/** Writes boot's Events through the Kubernetes adapter; a no-op without Kubernetes. */
export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private chain: Promise<unknown> = Promise.resolve();
  private failed = false;

  private readonly d: RecorderDeps;

  constructor(d: RecorderDeps) {
    this.d = d;
  }

  /**
   * Reports `reason` with a human-readable note about `pod` (default: this pod) or, for cluster-wide
   * reasons, the StatefulSet. Returns at once; the write happens in the background (see flush).
   */
  emit(reason: EventReason, note: string, pod?: string): void {
    const { sink, clock } = this.d;
    this.d.counted?.(reason);
    if (!sink) return;
    const spec = EVENT_REASONS[reason];
    const regarding: EventObject =
      spec.about === 'set' && !pod
        ? { kind: 'StatefulSet', name: this.d.statefulSet }
        : { kind: 'Pod', name: pod ?? this.d.pod };
    const now = clock.now();
    for (const [k, s] of this.series) if (now - s.first >= AGGREGATE_WINDOW_MS) this.series.delete(k);
    const key = `${reason}/${regarding.kind}/${regarding.name}`;
    const seen = this.series.get(key);
    if (!seen) {
      const name = this.write(() =>
        sink.create({
          regarding,
          reason,
          action: spec.action,
          type: spec.type,
          note,
          reporter: this.d.pod,
          at: new Date(now),
        }),
      );
      const entry: Series = { name, first: now, count: 1, patchedAt: now };
      this.series.set(key, entry);
      // a create that failed leaves nothing to patch: the next repeat creates again
      void name.then((n) => {
        if (!n && this.series.get(key) === entry) this.series.delete(key);
      });
      return;
    }
    seen.count++;
    if (now - seen.patchedAt < PATCH_EVERY_MS) return;
    seen.patchedAt = now;
    const count = seen.count;
    this.write(async () => {
      const name = await seen.name;
      if (name) await sink.repeat(name, count, new Date(now));
      return name;
    });
  }

  /** Resolves once the Events emitted so far are written (or given up). */
  async flush(): Promise<void> {
    await this.chain;
  }

  /** flush, bounded by FLUSH_TIMEOUT_MS: for a stopping boot. */
  async flushBounded(): Promise<void> {
    const stop = new AbortController();
    await Promise.race([this.flush(), this.d.clock.sleep(FLUSH_TIMEOUT_MS, stop.signal)]);
    stop.abort();
  }

  private write(fn: () => Promise<string | undefined>): Promise<string | undefined> {
    const done = this.chain.then(fn).catch((err: unknown) => {
      if (!this.failed) this.d.log.warn('cannot write a Kubernetes Event; going on without Events', { err });
      else this.d.log.debug('cannot write a Kubernetes Event', { err });
      this.failed = true;
      return undefined;
    });
    this.chain = done;
    return done;
  }
}
