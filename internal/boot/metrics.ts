// The series boot exports on /metrics, declared in one place.
import { Metrics } from '../server/server.ts';

export type ChangeKind =
  | 'add'
  | 'remove'
  | 'remove-self'
  | 'promote'
  | 'update'
  | 'registry-reset'
  | 'force-new-cluster'
  | 'restore';

/** Buckets (seconds) of the join and heal durations: a join takes seconds, a heal tens of seconds. */
const DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
/** Buckets (seconds) of a boot phase: from a 10 ms look to a 30 s wait. */
const PHASE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class BootMetrics extends Metrics {
  /** One membership change this member made. */
  change(kind: ChangeKind): void {
    this.inc('deis_etcd_membership_changes_total', { kind });
  }

  /** A boot's time to ready, phase by phase (ms, as Phases.summary gives them; total is the whole). */
  phases(spent: Record<string, number>): void {
    for (const [phase, ms] of Object.entries(spent)) this.observe('deis_etcd_boot_phase_seconds', ms / 1000, { phase });
  }
}

export function bootMetrics(): BootMetrics {
  const m = new BootMetrics();
  m.declare('deis_etcd_up', "whether this member's etcd answers healthy", 'gauge');
  m.declare('deis_etcd_members', 'members of the cluster', 'gauge');
  m.declare('deis_etcd_learners', 'learners in the cluster', 'gauge');
  m.declare('deis_etcd_membership_changes_total', 'membership changes this member made, by kind', 'counter');
  m.declare('deis_etcd_join_retries_total', 'joins given up and retried, by reason', 'counter');
  m.declare('deis_etcd_last_decision', 'the last plan decided (1 for the current one)', 'gauge');
  m.declare('deis_etcd_alarms', 'alarms raised in the cluster, by alarm (seen by the leader)', 'gauge');
  m.declare('deis_etcd_alarms_disarmed_total', 'alarms the maintenance pass cleared, by alarm', 'counter');
  m.declare('deis_etcd_defrags_total', 'defragmentations the maintenance pass ran, by reason', 'counter');
  m.declare('deis_etcd_defrag_seconds_total', 'seconds spent defragmenting', 'counter');
  m.declare('deis_etcd_db_unused_bytes', "bytes of a member's database file not in use (seen by the leader)", 'gauge');
  m.declare('deis_etcd_snapshots', 'snapshots of --restore-prefix in --restore-dir (when mounted)', 'gauge');
  m.declare(
    'deis_etcd_last_snapshot_timestamp_seconds',
    'when the newest snapshot in --restore-dir was taken (unix seconds, from its name)',
    'gauge',
  );
  m.declare(
    'deis_etcd_certificate_expiry_timestamp_seconds',
    "when this member's certificate expires (unix seconds; with --tls), by certificate",
    'gauge',
  );
  m.declare('deis_etcd_quorum', 'whether this member sees a leader (1) or not (0), checked each second', 'gauge');
  m.declare('deis_etcd_events_total', 'Kubernetes Events this member reported, by reason', 'counter');
  m.declareHistogram(
    'deis_etcd_join_duration_seconds',
    "from a join attempt's first look to a started voter (removals, learner added, caught up, promoted)",
    DURATION_BUCKETS,
  );
  m.declareHistogram(
    'deis_etcd_boot_phase_seconds',
    'where the time from process start to ready went, by phase (phases can overlap; total is the whole)',
    PHASE_BUCKETS,
  );
  m.declareHistogram(
    'deis_etcd_heal_duration_seconds',
    "on the leader: from first seeing a member's pod gone to that member's removal",
    DURATION_BUCKETS,
  );
  return m;
}
