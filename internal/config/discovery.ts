// The discovery program's settings: one table (flags, env names, help) and one pure validation.
import { bool, checkClusterSize, checkHost, DEFAULT_TOKEN_FILE, int, oneOf, optStr, Problems, str, type OptionSpec, type RawOptions } from './options.ts';
import type { Level } from '../log/log.ts';

export const DEFAULT_TOKEN_SECRET = 'deis-etcd-discovery-token';

// Each flag reads the env variable envName(flag) gives; `env` marks the exceptions, `deprecatedEnv` former names.
export const discoveryOptions: readonly OptionSpec[] = [
  { flag: 'cluster-size', type: 'number', default: '3', describe: 'members of the etcd cluster, seeded as the registry size: an odd number from 1 to 9' },
  { flag: 'allow-even-size', type: 'boolean', default: 'false', describe: 'accept an even cluster size (it tolerates no more failures than one member fewer)' },
  { flag: 'client-port', type: 'number', default: '2381', describe: "client port of the discovery etcd (the members' --discovery-endpoints)" },
  { flag: 'peer-port', deprecatedEnv: ['DEIS_ETCD_DISCOVERY_PEER_PORT'], type: 'number', default: '2382', describe: 'peer port of the single discovery etcd' },
  { flag: 'advertise-host', env: 'POD_IP', type: 'string', default: 'first non-loopback IPv4', describe: 'address to advertise and listen on (the pod IP from the downward API)' },
  { flag: 'listen-host', type: 'string', default: 'advertise host', describe: 'address to listen on, e.g. 0.0.0.0' },
  { flag: 'data-dir', type: 'string', default: '/var/lib/etcd', describe: 'data directory of the discovery etcd (a volume keeps the registry across restarts)' },
  { flag: 'token-file', type: 'string', default: DEFAULT_TOKEN_FILE, describe: 'file holding the discovery token (the mounted Secret)' },
  { flag: 'token', env: 'DEIS_ETCD_DISCOVERY_TOKEN', type: 'string', describe: 'the discovery token itself (beats --token-file)' },
  { flag: 'token-secret', type: 'string', default: DEFAULT_TOKEN_SECRET, describe: 'Secret to create with a random token when no token is configured' },
  { flag: 'namespace', env: 'POD_NAMESPACE', type: 'string', default: "the service account's", describe: 'Kubernetes namespace of the token Secret' },
  { flag: 'etcd-binary', deprecatedEnv: ['DEIS_ETCD_BINARY'], type: 'string', default: 'etcd (on PATH)', describe: 'the etcd 3.6+ executable to run' },
  { flag: 'http-port', type: 'number', default: '8081', describe: 'port of /healthz, /readyz and /metrics' },
  { flag: 'start-timeout', type: 'number', default: '60', describe: 'seconds to wait for etcd to become healthy' },
  { flag: 'log-level', type: 'string', default: 'info', describe: 'debug, info, warn or error' },
  { flag: 'log-format', type: 'string', default: 'json', describe: 'json or text' },
];

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
  readonly logLevel: Level;
  readonly logFormat: 'json' | 'text';
}

/** Pure: raw options -> a frozen config, or one config error listing every problem. */
export function validateDiscovery(raw: RawOptions): DiscoveryConfig {
  const p = new Problems();
  const allowEven = bool(raw, 'allow-even-size', false, p);
  const cfg: DiscoveryConfig = {
    clusterSize: checkClusterSize(raw, p, allowEven),
    clientPort: int(raw, 'client-port', 2381, p, 1, 65535),
    peerPort: int(raw, 'peer-port', 2382, p, 1, 65535),
    advertiseHost: checkHost(raw, 'advertise-host', p),
    listenHost: checkHost(raw, 'listen-host', p),
    dataDir: str(raw, 'data-dir', '/var/lib/etcd'),
    tokenFile: str(raw, 'token-file', DEFAULT_TOKEN_FILE),
    token: raw.token?.value,
    tokenSecret: str(raw, 'token-secret', DEFAULT_TOKEN_SECRET),
    namespace: optStr(raw, 'namespace'),
    etcdBinary: str(raw, 'etcd-binary', 'etcd'),
    httpPort: int(raw, 'http-port', 8081, p, 1, 65535),
    startTimeoutS: int(raw, 'start-timeout', 60, p, 1, 3600),
    logLevel: oneOf(raw, 'log-level', 'info', ['debug', 'info', 'warn', 'error'] as const, p),
    logFormat: oneOf(raw, 'log-format', 'json', ['json', 'text'] as const, p),
  };
  if (cfg.clientPort === cfg.peerPort) p.add('--client-port and --peer-port must differ');
  if (!cfg.dataDir) p.add('--data-dir must not be empty');
  p.check('discovery');
  return Object.freeze(cfg);
}
