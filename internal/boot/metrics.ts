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

export class BootMetrics extends Metrics {
  /** One membership change this member made. */
  change(kind: ChangeKind): void {
    this.inc('deis_etcd_membership_changes_total', { kind });
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
  m.declare(
    'deis_etcd_boot_phase_seconds',
    'where the time from process start to ready went, by phase (phases can overlap; total is the whole)',
    'gauge',
  );
  m.declare('deis_etcd_alarms', 'alarms raised in the cluster, by alarm (seen by the leader)', 'gauge');
  m.declare('deis_etcd_alarms_disarmed_total', 'alarms the maintenance pass cleared, by alarm', 'counter');
  m.declare('deis_etcd_defrags_total', 'defragmentations the maintenance pass ran, by reason', 'counter');
  m.declare('deis_etcd_defrag_seconds_total', 'seconds spent defragmenting', 'counter');
  m.declare('deis_etcd_db_unused_bytes', "bytes of a member's database file not in use (seen by the leader)", 'gauge');
  m.declare('deis_etcd_snapshots', 'snapshots of --restore-prefix in --restore-dir (when mounted)', 'gauge');
  m.declare(
    'deis_etcd_snapshot_latest_timestamp_seconds',
    'when the newest snapshot in --restore-dir was taken (unix seconds, from its name)',
    'gauge',
  );
  return m;
}
