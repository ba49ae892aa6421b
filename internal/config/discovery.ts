// The discovery program's settings: one table (flags, env names, help) and one pure validation.
import { checkClusterSize, checkHost, DEFAULT_TOKEN_FILE, DEFAULT_TOKEN_SECRET } from './checks.ts';
import type { OptionSpec, RawOptions } from './options.ts';
import { OptionReader, Problems } from './reader.ts';
import { discoveryAuthOptions, validateDiscoveryAuth, type DiscoveryAuthConfig } from './auth.ts';
import {
  DEFAULT_CA_SECRET,
  DEFAULT_CLIENT_SECRET,
  parseDuration,
  tlsOptions,
  validateTls,
  type TlsConfig,
} from './tls.ts';
import type { Level } from '../log/log.ts';

// Each flag reads the env variable envName(flag) gives; `env` marks the exceptions, `deprecatedEnv` former names.
// `default` is the value validation applies; `defaultText` is what --help says where that is not a fixed value.
export const discoveryOptions = [
  {
    flag: 'cluster-size',
    type: 'number',
    default: 3,
    describe: 'members of the etcd cluster, seeded as the registry size: an odd number from 1 to 9',
  },
  {
    flag: 'allow-even-size',
    type: 'boolean',
    default: false,
    describe: 'accept an even cluster size (it tolerates no more failures than one member fewer)',
  },
  {
    flag: 'client-port',
    type: 'number',
    default: 2381,
    describe: "client port of the discovery etcd (the members' --discovery-endpoints)",
  },
  {
    flag: 'peer-port',
    deprecatedEnv: ['DEIS_ETCD_DISCOVERY_PEER_PORT'],
    type: 'number',
    default: 2382,
    describe: 'peer port of the single discovery etcd',
  },
  {
    flag: 'advertise-host',
    env: 'POD_IP',
    type: 'string',
    defaultText: 'first non-loopback IPv4',
    describe: 'address to advertise and listen on (the pod IP from the downward API)',
  },
  {
    flag: 'listen-host',
    type: 'string',
    defaultText: 'advertise host',
    describe: 'address to listen on, e.g. 0.0.0.0',
  },
  {
    flag: 'data-dir',
    type: 'string',
    default: '/var/lib/etcd',
    describe: 'data directory of the discovery etcd (a volume keeps the registry across restarts)',
  },
  {
    flag: 'token-file',
    type: 'string',
    default: DEFAULT_TOKEN_FILE,
    describe: 'file holding the discovery token (the mounted Secret)',
  },
  {
    flag: 'token',
    env: 'DEIS_ETCD_DISCOVERY_TOKEN',
    type: 'string',
    describe: 'the discovery token itself (beats --token-file)',
  },
  {
    flag: 'token-secret',
    type: 'string',
    default: DEFAULT_TOKEN_SECRET,
    describe: 'Secret to create with a random token when no token is configured',
  },
  {
    flag: 'namespace',
    env: 'POD_NAMESPACE',
    type: 'string',
    defaultText: "the service account's",
    describe: 'Kubernetes namespace of the token Secret',
  },
  {
    flag: 'etcd-binary',
    deprecatedEnv: ['DEIS_ETCD_BINARY'],
    type: 'string',
    default: 'etcd',
    defaultText: 'etcd (on PATH)',
    describe: 'the etcd 3.6+ executable to run',
  },
  { flag: 'http-port', type: 'number', default: 8081, describe: 'port of /healthz, /readyz and /metrics' },
  { flag: 'start-timeout', type: 'number', default: 60, describe: 'seconds to wait for etcd to become healthy' },
  ...tlsOptions,
  ...discoveryAuthOptions,
  {
    flag: 'ca-secret',
    type: 'string',
    default: DEFAULT_CA_SECRET,
    describe: 'with --tls and Kubernetes: the CA Secret (kubernetes.io/tls), created with a new CA when absent',
  },
  {
    flag: 'client-secret',
    type: 'string',
    default: DEFAULT_CLIENT_SECRET,
    describe: 'with --tls and Kubernetes: the client certificate Secret (ca.crt, tls.crt, tls.key), issued when absent',
  },
  {
    flag: 'create-tls-secrets',
    type: 'boolean',
    default: true,
    describe:
      'with --tls and Kubernetes: create --ca-secret and --client-secret when absent; false when cert-manager ' +
      'makes them (discovery then waits for them)',
  },
  {
    flag: 'client-cert-lifetime',
    type: 'string',
    default: '365d',
    describe: 'how long the client certificate in --client-secret is valid (delete the Secret for a new one)',
  },
  {
    flag: 'etcd-metrics-port',
    type: 'number',
    default: 2383,
    describe:
      "with --tls: the discovery etcd's plain-http metrics and health listener (its client port requires certificates)",
  },
  {
    flag: 'discovery-service-host',
    env: 'DEIS_ETCD_DISCOVERY_SERVICE_HOST',
    type: 'string',
    describe: "the discovery Service's host (set by Kubernetes): with --tls, a name in the certificate",
  },
  {
    flag: 'cluster-domain',
    type: 'string',
    default: 'cluster.local',
    describe: "the cluster's DNS domain, for the Service names in the certificate",
  },
  { flag: 'log-level', type: 'string', default: 'info', describe: 'debug, info, warn or error' },
  { flag: 'log-format', type: 'string', default: 'json', describe: 'json or text' },
] as const satisfies readonly OptionSpec[];

export interface DiscoveryConfig {
  readonly clusterSize: number;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Undefined: fall back to the first interface address. */
  readonly advertiseHost: string | undefined;
  readonly listenHost: string | undefined;
  readonly dataDir: string;
  readonly tokenFile: string;
  readonly token: string | undefined;
  readonly tokenSecret: string;
  readonly namespace: string | undefined;
  readonly etcdBinary: string;
  readonly httpPort: number;
  readonly startTimeoutS: number;
  readonly tls: TlsConfig;
  readonly auth: DiscoveryAuthConfig;
  readonly caSecret: string;
  readonly clientSecret: string;
  readonly createTlsSecrets: boolean;
  readonly clientCertLifetimeMs: number;
  readonly etcdMetricsPort: number;
  readonly serviceHost: string | undefined;
  readonly clusterDomain: string;
  readonly logLevel: Level;
  readonly logFormat: 'json' | 'text';
}

/** Pure: raw options -> a frozen config, or one config error listing every problem. */
export function validateDiscovery(raw: RawOptions): DiscoveryConfig {
  const p = new Problems();
  const opt = new OptionReader(discoveryOptions, raw, p);
  const cfg: DiscoveryConfig = {
    clusterSize: checkClusterSize(opt, p),
    clientPort: opt.int('client-port', 1, 65535),
    peerPort: opt.int('peer-port', 1, 65535),
    advertiseHost: checkHost(opt, 'advertise-host', p),
    listenHost: checkHost(opt, 'listen-host', p),
    dataDir: opt.str('data-dir'),
    tokenFile: opt.str('token-file'),
    token: raw.token?.value,
    tokenSecret: opt.str('token-secret'),
    namespace: opt.optStr('namespace'),
    etcdBinary: opt.str('etcd-binary'),
    httpPort: opt.int('http-port', 1, 65535),
    startTimeoutS: opt.int('start-timeout', 1, 3600),
    tls: validateTls(opt, p),
    auth: validateDiscoveryAuth(opt),
    caSecret: opt.str('ca-secret'),
    clientSecret: opt.str('client-secret'),
    createTlsSecrets: opt.bool('create-tls-secrets'),
    clientCertLifetimeMs: parseDuration(opt.str('client-cert-lifetime')) ?? 0,
    etcdMetricsPort: opt.int('etcd-metrics-port', 1, 65535),
    serviceHost: opt.optStr('discovery-service-host'),
    clusterDomain: opt.str('cluster-domain'),
    logLevel: opt.oneOf('log-level', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: opt.oneOf('log-format', ['json', 'text'] as const),
  };
  if (cfg.clientPort === cfg.peerPort) p.add('--client-port and --peer-port must differ');
  if (cfg.tls.enabled && [cfg.clientPort, cfg.peerPort, cfg.httpPort].includes(cfg.etcdMetricsPort))
    p.add('--etcd-metrics-port must differ from --client-port, --peer-port and --http-port');
  if (cfg.clientCertLifetimeMs < 60_000)
    p.add(`${opt.source('client-cert-lifetime')} must be a duration like 365d or 72h of at least 60 s`);
  if (!cfg.dataDir) p.add('--data-dir must not be empty');
  p.check('discovery');
  return Object.freeze(cfg);
}
