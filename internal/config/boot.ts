// The boot program's settings: the validated, typed config and its one pure validation (the option
// table is in boot-options.ts).
import { checkClusterSize, checkHost, checkUrl, dnsLabel } from './checks.ts';
import { bootOptions } from './boot-options.ts';
import type { RawOptions } from './options.ts';
import { OptionReader, Problems } from './reader.ts';
import { validateTls, type TlsConfig } from './tls.ts';
import { validateBootAuth, type BootAuthConfig } from './auth.ts';
import { readS3, type S3Config } from './s3-options.ts';

export { bootOptions } from './boot-options.ts';
import { urlHost } from '../net.ts';
import type { Level } from '../log/log.ts';

/** etcd flags boot sets itself: an ETCD_* variable for one of them is dropped and reported. */
export const OWNED_ETCD_ENV = [
  'ETCD_NAME',
  'ETCD_DATA_DIR',
  'ETCD_LISTEN_CLIENT_URLS',
  'ETCD_ADVERTISE_CLIENT_URLS',
  'ETCD_LISTEN_PEER_URLS',
  'ETCD_INITIAL_ADVERTISE_PEER_URLS',
  'ETCD_INITIAL_CLUSTER',
  'ETCD_INITIAL_CLUSTER_STATE',
  'ETCD_INITIAL_CLUSTER_TOKEN',
  'ETCD_DISCOVERY',
  'ETCD_DISCOVERY_TOKEN',
  'ETCD_DISCOVERY_ENDPOINTS',
  'ETCD_DISCOVERY_SRV',
  'ETCD_AUTO_COMPACTION_MODE',
  'ETCD_AUTO_COMPACTION_RETENTION',
];

/** etcd flags boot also sets itself with --tls. */
export const OWNED_TLS_ETCD_ENV = [
  'ETCD_CERT_FILE',
  'ETCD_KEY_FILE',
  'ETCD_TRUSTED_CA_FILE',
  'ETCD_CLIENT_CERT_AUTH',
  'ETCD_PEER_CERT_FILE',
  'ETCD_PEER_KEY_FILE',
  'ETCD_PEER_TRUSTED_CA_FILE',
  'ETCD_PEER_CLIENT_CERT_AUTH',
  'ETCD_DISCOVERY_CACERT',
  'ETCD_DISCOVERY_CERT',
  'ETCD_DISCOVERY_KEY',
];

export interface BootConfig {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly advertiseHost: string | undefined;
  readonly listenHost: string | undefined;
  readonly clusterSize: number;
  readonly discoveryEndpoint: string | undefined;
  readonly clusterEndpoints: readonly string[];
  readonly tokenFile: string;
  readonly token: string | undefined;
  readonly selector: string;
  readonly statefulSet: string | undefined;
  readonly kubernetes: 'auto' | 'on' | 'off';
  readonly clientPort: number;
  readonly peerPort: number;
  /** etcd's metrics listener port; 0: none. */
  readonly etcdMetricsPort: number;
  /** With a peer Service, the peer URL's host: <name>.<service>.<namespace>.svc.<domain>. */
  readonly peerService: string | undefined;
  readonly clusterDomain: string;
  readonly dataDir: string;
  readonly etcdBinary: string;
  readonly httpPort: number;
  readonly startTimeoutS: number;
  readonly waitTimeoutS: number;
  readonly rebuildGraceS: number;
  readonly healIntervalS: number;
  readonly podGoneGraceS: number;
  readonly leaveTimeoutS: number;
  readonly joinStallS: number;
  readonly autoRecover: boolean;
  readonly quorumLossGraceS: number;
  /** etcd's --auto-compaction-retention in periodic mode; '0': off. */
  readonly autoCompactionRetention: string;
  /** The maintenance pass's defragmentation rule: unused percent and the size it starts at. */
  readonly defragThresholdPct: number;
  readonly defragMinBytes: number;
  /** A snapshot for a cluster with no members: 'latest', a name in restoreDir, or an absolute path. */
  readonly restoreFrom: string | undefined;
  readonly restoreDir: string | undefined;
  /** The bucket --restore-from names its snapshot in (instead of restoreDir). */
  readonly restoreS3: S3Config | undefined;
  readonly restorePrefix: string;
  readonly etcdutlBinary: string;
  /** TLS for etcd's client and peer URLs and for boot's own clients (off by default). */
  readonly tls: TlsConfig;
  /** etcd authentication (off by default). */
  readonly auth: BootAuthConfig;
  /** http, or https with --tls. */
  readonly scheme: 'http' | 'https';
  /** ETCD_* settings passed through to etcd (minus the ones boot owns). */
  readonly etcdEnv: Readonly<Record<string, string>>;
  /** Why some ETCD_* variables were dropped. */
  readonly etcdEnvDropped: readonly string[];
  readonly logLevel: Level;
  readonly logFormat: 'json' | 'text';
}

/** Pure: raw options and env -> a frozen config, or one config error listing every problem. */
export function validateBoot(raw: RawOptions, env: NodeJS.ProcessEnv): BootConfig {
  const p = new Problems();
  const opt = new OptionReader(bootOptions, raw, p);
  const name = opt.optStr('name');
  if (!name) p.add('no member name: set POD_NAME from the downward API (fieldRef metadata.name) or --name');
  else if (name.length > 63 || !dnsLabel.test(name)) {
    p.add(`${opt.source('name')} must be a DNS label like deis-etcd-0, not '${name}'`);
  }

  const tls = validateTls(opt, p);
  const scheme = tls.enabled ? 'https' : 'http';
  let discoveryEndpoint = opt.optStr('discovery-endpoint');
  if (discoveryEndpoint) checkUrl(discoveryEndpoint, opt.source('discovery-endpoint'), p);
  else {
    const host = opt.optStr('discovery-service-host');
    const port = opt.int('discovery-service-port', 1, 65535);
    if (host) discoveryEndpoint = `${scheme}://${urlHost(host)}:${port}`;
  }
  let clusterEndpoints = (opt.optStr('cluster-endpoints') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const u of clusterEndpoints) checkUrl(u, opt.source('cluster-endpoints'), p);
  if (!clusterEndpoints.length && env.DEIS_ETCD_SERVICE_HOST) {
    clusterEndpoints = [`${scheme}://${urlHost(env.DEIS_ETCD_SERVICE_HOST)}:${env.DEIS_ETCD_SERVICE_PORT ?? '2379'}`];
  }

  const etcdEnv: Record<string, string> = {};
  const etcdEnvDropped: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('ETCD_') || v === undefined) continue;
    if (!/^ETCD_[A-Z0-9_]+$/.test(k))
      p.add(`environment variable ${k} is not a valid etcd setting name (ETCD_ followed by upper-case flag words)`);
    else if (/[\n\r\0]/.test(v)) p.add(`environment variable ${k} holds a line break or NUL`);
    else if (OWNED_ETCD_ENV.includes(k) || (tls.enabled && OWNED_TLS_ETCD_ENV.includes(k)))
      etcdEnvDropped.push(`${k} is ignored: boot sets that etcd flag itself`);
    else etcdEnv[k] = v;
  }

  const cfg: BootConfig = {
    name: name ?? '',
    namespace: opt.optStr('namespace'),
    advertiseHost: checkHost(opt, 'advertise-host', p),
    listenHost: checkHost(opt, 'listen-host', p),
    clusterSize: checkClusterSize(opt, p),
    discoveryEndpoint,
    clusterEndpoints,
    tokenFile: opt.str('token-file'),
    token: raw.token?.value,
    selector: opt.str('selector'),
    statefulSet: opt.optStr('statefulset'),
    kubernetes: opt.oneOf('kubernetes', ['auto', 'on', 'off'] as const),
    clientPort: opt.int('client-port', 1, 65535),
    peerPort: opt.int('peer-port', 1, 65535),
    etcdMetricsPort: opt.int('etcd-metrics-port', 0, 65535),
    peerService: opt.optStr('peer-service'),
    clusterDomain: opt.str('cluster-domain'),
    dataDir: opt.str('data-dir'),
    etcdBinary: opt.str('etcd-binary'),
    httpPort: opt.int('http-port', 1, 65535),
    startTimeoutS: opt.int('start-timeout', 1, 3600),
    waitTimeoutS: opt.int('wait-timeout', 1, 86400),
    rebuildGraceS: opt.int('rebuild-grace', 0, 3600),
    healIntervalS: opt.int('heal-interval', 1, 3600),
    podGoneGraceS: opt.int('pod-gone-grace', 0, 86400),
    leaveTimeoutS: opt.int('leave-timeout', 1, 3600),
    joinStallS: opt.int('join-stall-timeout', 1, 3600),
    autoRecover: opt.bool('auto-recover'),
    quorumLossGraceS: opt.int('quorum-loss-grace', 1, 86400),
    autoCompactionRetention: opt.str('auto-compaction-retention'),
    defragThresholdPct: opt.int('defrag-threshold', 0, 100),
    defragMinBytes: opt.int('defrag-min-size', 0, 1024 * 1024) * 1024 * 1024,
    restoreFrom: opt.optStr('restore-from'),
    restoreDir: opt.optStr('restore-dir'),
    restoreS3: readS3(opt, p),
    restorePrefix: opt.str('restore-prefix'),
    etcdutlBinary: opt.str('etcdutl-binary'),
    tls,
    auth: validateBootAuth(opt),
    scheme,
    etcdEnv,
    etcdEnvDropped,
    logLevel: opt.oneOf('log-level', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: opt.oneOf('log-format', ['json', 'text'] as const),
  };
  const ports = [cfg.clientPort, cfg.peerPort, cfg.httpPort, ...(cfg.etcdMetricsPort ? [cfg.etcdMetricsPort] : [])];
  if (new Set(ports).size !== ports.length)
    p.add('--client-port, --peer-port, --http-port and --etcd-metrics-port must differ');
  if (cfg.peerService && !dnsLabel.test(cfg.peerService)) {
    p.add(`${opt.source('peer-service')} must be a Service name like deis-etcd-peers, not '${cfg.peerService}'`);
  }
  if (!dnsLabel.test(cfg.clusterDomain)) {
    p.add(`${opt.source('cluster-domain')} must be a DNS domain like cluster.local, not '${cfg.clusterDomain}'`);
  }
  if (cfg.peerService && !cfg.namespace) {
    p.add(
      '--peer-service needs the namespace: set POD_NAMESPACE from the downward API (fieldRef metadata.namespace) ' +
        'or --namespace',
    );
  }
  if (tls.enabled && !cfg.etcdMetricsPort) {
    p.add("--tls needs --etcd-metrics-port: with client certificates required, boot reads etcd's health there");
  }
  if (!cfg.selector.includes('='))
    p.add(`--selector must be a label selector like app=deis-etcd, not '${cfg.selector}'`);
  if (!/^(0|\d+|(\d+(\.\d+)?(h|m|s))+)$/.test(cfg.autoCompactionRetention)) {
    p.add(
      `${opt.source('auto-compaction-retention')} must be a duration like 1h, 30m or 1h30m (0: off), not ` +
        `'${cfg.autoCompactionRetention}'`,
    );
  }
  const from = cfg.restoreFrom;
  if (from && !from.startsWith('/')) {
    if (from !== 'latest' && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(from))
      p.add(`${opt.source('restore-from')} must be latest, a snapshot name or an absolute path, not '${from}'`);
    else if (!cfg.restoreDir && !cfg.restoreS3)
      p.add(`${opt.source('restore-from')} '${from}' needs --s3-bucket or --restore-dir, where the snapshots are`);
    else if (cfg.restoreDir && cfg.restoreS3)
      p.add(`${opt.source('restore-from')} '${from}': set --s3-bucket or --restore-dir, not both`);
  }
  p.check('boot');
  return Object.freeze(cfg);
}
