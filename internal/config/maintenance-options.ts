// boot's maintenance and restore options: etcd's auto-compaction, the leader's defragmentation rule and
// the snapshot a cluster with no members restores (spread into boot's table, boot-options.ts).
import type { OptionSpec } from './options.ts';
import { s3Options } from './s3-options.ts';

export const maintenanceOptions = [
  {
    flag: 'auto-compaction-retention',
    type: 'string',
    default: '1h',
    describe:
      "history etcd keeps before compacting it (etcd's periodic auto-compaction), a duration like 1h or 30m; " +
      '0 turns auto-compaction off',
  },
  {
    flag: 'defrag-threshold',
    type: 'number',
    default: 50,
    describe:
      "percent of a member's database file not in use at which the leader's maintenance pass defragments it " +
      '(one member at a time, followers first, never while a member is missing); 0 turns it off',
  },
  {
    flag: 'defrag-min-size',
    type: 'number',
    default: 64,
    describe: 'MiB a database file must reach before the unused share counts (a NOSPACE alarm defragments at any size)',
  },
  {
    flag: 'restore-from',
    type: 'string',
    defaultText: 'none: a new cluster starts empty',
    describe:
      'when the cluster has no members (a new cluster, or a rebuild after losing every member), the first member ' +
      'restores this snapshot and starts alone, the others join it: latest (the newest in --s3-bucket or ' +
      '--restore-dir), a snapshot name there, or an absolute path. Ignored, with a warning, when the cluster has data',
  },
  {
    flag: 'restore-dir',
    type: 'string',
    describe: 'directory (the snapshot volume) holding the snapshots --restore-from names',
  },
  ...s3Options,
  {
    flag: 'restore-prefix',
    type: 'string',
    default: 'deis-etcd',
    describe: "name prefix of the snapshots 'latest' chooses among (the snapshot program's --prefix)",
  },
  {
    flag: 'etcdutl-binary',
    type: 'string',
    default: 'etcdutl',
    defaultText: 'etcdutl (on PATH)',
    describe: "etcd's etcdutl, which checks and restores a --restore-from snapshot",
  },
] as const satisfies readonly OptionSpec[];
