// The snapshot program's settings: one table (flags, env names, help) and one pure validation.
import { checkUrl } from './checks.ts';
import type { OptionSpec, RawOptions } from './options.ts';
import { OptionReader, Problems } from './reader.ts';
import { readS3, s3Options, type S3Config } from './s3-options.ts';
import { urlHost } from '../net.ts';
import type { Level } from '../log/log.ts';

// Each flag reads the env variable envName(flag) gives (DEIS_ETCD_<FLAG>).
export const snapshotOptions = [
  {
    flag: 'endpoints',
    type: 'string',
    defaultText: 'http://$DEIS_ETCD_SERVICE_HOST:$DEIS_ETCD_SERVICE_PORT',
    describe: "comma-separated client URLs of the cluster's members (a follower is snapshotted when there is one)",
  },
  {
    flag: 'client-tls-dir',
    type: 'string',
    describe:
      'directory holding the client certificate for a cluster with TLS (ca.crt, tls.crt, tls.key: the ' +
      'deis-etcd-client-tls Secret mounted); the default endpoint is then https',
  },
  {
    flag: 'root-password-file',
    type: 'string',
    describe:
      "for a cluster with etcd authentication: file holding root's password (the Secret deis-etcd-root " +
      'mounted); the snapshot calls authenticate as root',
  },
  {
    flag: 'dir',
    type: 'string',
    describe:
      'directory (a mounted volume) the snapshots are kept in; with --s3-bucket, where each is staged before ' +
      'its upload (default: the temp dir)',
  },
  ...s3Options,
  {
    flag: 'prefix',
    type: 'string',
    default: 'deis-etcd',
    describe: 'name prefix of the snapshot files: <prefix>-<UTC time>.db; retention only touches these',
  },
  { flag: 'keep', type: 'number', default: 7, describe: 'newest snapshots to keep (older ones are deleted)' },
  {
    flag: 'max-age',
    type: 'number',
    default: 0,
    describe: 'hours after which a snapshot is deleted, the newest excepted; 0: no age limit',
  },
  {
    flag: 'etcdutl-binary',
    type: 'string',
    default: 'etcdutl',
    defaultText: 'etcdutl (on PATH)',
    describe: "etcd's etcdutl, which checks each snapshot (hash, revision, keys) before it is kept",
  },
  { flag: 'log-level', type: 'string', default: 'info', describe: 'debug, info, warn or error' },
  { flag: 'log-format', type: 'string', default: 'json', describe: 'json or text' },
] as const satisfies readonly OptionSpec[];

export interface SnapshotConfig {
  readonly endpoints: readonly string[];
  /** ca.crt, tls.crt and tls.key of a client certificate (a TLS cluster). */
  readonly clientTlsDir: string | undefined;
  /** With etcd authentication: root's password file; undefined: calls go without a user. */
  readonly rootPasswordFile: string | undefined;
  /** The snapshot volume, or with `s3` the staging dir ('' : the temp dir). */
  readonly dir: string;
  /** Upload to this bucket instead of keeping the snapshots in `dir`. */
  readonly s3: S3Config | undefined;
  readonly prefix: string;
  readonly keep: number;
  /** 0: no age limit. */
  readonly maxAgeHours: number;
  readonly etcdutlBinary: string;
  readonly logLevel: Level;
  readonly logFormat: 'json' | 'text';
}

/** Pure: raw options and env -> a frozen config, or one config error listing every problem. */
export function validateSnapshot(raw: RawOptions, env: NodeJS.ProcessEnv): SnapshotConfig {
  const p = new Problems();
  const opt = new OptionReader(snapshotOptions, raw, p);
  let endpoints = (opt.optStr('endpoints') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const u of endpoints) checkUrl(u, opt.source('endpoints'), p);
  const clientTlsDir = opt.optStr('client-tls-dir');
  if (!endpoints.length && env.DEIS_ETCD_SERVICE_HOST) {
    endpoints = [
      `${clientTlsDir ? 'https' : 'http'}://${urlHost(env.DEIS_ETCD_SERVICE_HOST)}:${env.DEIS_ETCD_SERVICE_PORT ?? '2379'}`,
    ];
  }
  if (!endpoints.length) {
    p.add('no etcd endpoints: set --endpoints (DEIS_ETCD_ENDPOINTS) or run beside the deis-etcd Service');
  }
  const dir = opt.optStr('dir');
  const s3 = readS3(opt, p);
  if (!dir && !s3)
    p.add(
      'no snapshot destination: set --s3-bucket (DEIS_ETCD_S3_BUCKET) or --dir (DEIS_ETCD_DIR) to a mounted volume',
    );
  const prefix = opt.str('prefix');
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(prefix)) {
    p.add(
      `${opt.source('prefix')} must be lower-case letters, digits, '.', '_' or '-', like deis-etcd, not '${prefix}'`,
    );
  }
  const cfg: SnapshotConfig = {
    endpoints,
    clientTlsDir,
    rootPasswordFile: opt.optStr('root-password-file'),
    dir: dir ?? '',
    s3,
    prefix,
    keep: opt.int('keep', 1, 10000),
    maxAgeHours: opt.int('max-age', 0, 24 * 3650),
    etcdutlBinary: opt.str('etcdutl-binary'),
    logLevel: opt.oneOf('log-level', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: opt.oneOf('log-format', ['json', 'text'] as const),
  };
  p.check('snapshot');
  return Object.freeze(cfg);
}
