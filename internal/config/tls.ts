// TLS settings both programs share (off by default): where the CA is mounted, where a program writes
// its own certificate, and how long certificates live. Each program's table spreads these rows in;
// validateTls reads them into one typed value.
import type { OptionSpec } from './options.ts';
import type { Problems } from './reader.ts';

/** Where the CA Secret is mounted in both programs' pods (tls.crt, tls.key: the kubernetes.io/tls layout). */
export const DEFAULT_CA_DIR = '/var/run/secrets/deis/etcd/ca';

/** The Secrets discovery creates when absent: the CA, and a client certificate for people and applications. */
export const DEFAULT_CA_SECRET = 'deis-etcd-ca';
export const DEFAULT_CLIENT_SECRET = 'deis-etcd-client-tls';

export const tlsOptions = [
  {
    flag: 'tls',
    type: 'boolean',
    default: false,
    describe:
      'serve etcd over TLS with client certificate authentication (clients and peers), certificates issued ' +
      'from the CA in --tls-ca-dir',
  },
  {
    flag: 'tls-ca-dir',
    type: 'string',
    default: DEFAULT_CA_DIR,
    describe: 'directory of the mounted CA Secret: tls.crt (the CA certificate) and tls.key (its key)',
  },
  {
    flag: 'tls-dir',
    type: 'string',
    default: '/var/run/deis/etcd/tls',
    describe:
      'directory where the program writes its own certificate and key for etcd (an in-memory volume: keys ' +
      'never reach a disk)',
  },
  {
    flag: 'cert-lifetime',
    type: 'string',
    default: '72h',
    describe: 'how long an issued certificate is valid, e.g. 72h, 3d, 90m (it is renewed while etcd keeps running)',
  },
  {
    flag: 'cert-renew-before',
    type: 'string',
    default: '24h',
    describe: 'how long ahead of expiry a certificate is renewed, e.g. 24h (at the earliest halfway through its life)',
  },
] as const satisfies readonly OptionSpec[];

type TlsFlag = (typeof tlsOptions)[number]['flag'];

export interface TlsConfig {
  readonly enabled: boolean;
  readonly caDir: string;
  readonly dir: string;
  readonly lifetimeMs: number;
  readonly renewBeforeMs: number;
}

/** The part of a program's OptionReader the TLS rows need (its table includes tlsOptions). */
interface TlsReader {
  bool(flag: TlsFlag): boolean;
  str(flag: TlsFlag): string;
  source(flag: TlsFlag): string;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration like 90s, 30m, 72h or 3d in ms; undefined when it is not one. */
export function parseDuration(v: string): number | undefined {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(v.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

function duration(opt: TlsReader, flag: TlsFlag, min: number, p: Problems): number {
  const v = opt.str(flag);
  const ms = parseDuration(v);
  if (ms === undefined || ms < min) {
    p.add(`${opt.source(flag)} must be a duration like 72h, 3d, 90m or 60s of at least ${min / 1000} s, not '${v}'`);
    return min;
  }
  return ms;
}

/** Reads the TLS rows (part of a program's validation: problems join the program's own). */
export function validateTls(opt: TlsReader, p: Problems): TlsConfig {
  const cfg: TlsConfig = {
    enabled: opt.bool('tls'),
    caDir: opt.str('tls-ca-dir'),
    dir: opt.str('tls-dir'),
    lifetimeMs: duration(opt, 'cert-lifetime', 60_000, p),
    renewBeforeMs: duration(opt, 'cert-renew-before', 0, p),
  };
  if (cfg.enabled && cfg.caDir === cfg.dir) p.add('--tls-ca-dir and --tls-dir must differ');
  return Object.freeze(cfg);
}
