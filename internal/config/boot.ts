// The boot program's settings: one table (flags, env names, help) and one pure validation.
import { checkClusterSize, checkHost, checkUrl, DEFAULT_TOKEN_FILE, dnsLabel } from './checks.ts';
import { OptionReader, Problems, type OptionSpec, type RawOptions } from './options.ts';
import { urlHost } from '../net.ts';
import type { Level } from '../log/log.ts';

// Each flag reads the env variable envName(flag) gives; `env` marks the exceptions, `deprecatedEnv` former names.
// `default` is the value validation applies; `defaultText` is what --help says where that is not a fixed value.
export const bootOptions = [
  {
    flag: 'name',
    env: 'POD_NAME',
    type: 'string',
    describe: "this member's name: the pod name from the downward API (required)",
  },
  {
    flag: 'namespace',
    env: 'POD_NAMESPACE',
    type: 'string',
    defaultText: "the service account's",
    describe: 'Kubernetes namespace of the member pods',
  },
  {
    flag: 'advertise-host',
    env: 'POD_IP',
    type: 'string',
    defaultText: "the pod's IP from the API, else the first non-loopback IPv4",
    describe: 'address advertised in the peer and client URLs (the pod IP)',
  },
  {
    flag: 'listen-host',
    type: 'string',
    defaultText: 'advertise host',
    describe: 'address etcd listens on, e.g. 0.0.0.0',
  },
  {
    flag: 'cluster-size',
    type: 'number',
    default: 3,
    describe: 'members of a new cluster (must match the discovery registry): an odd number from 1 to 9',
  },
  { flag: 'allow-even-size', type: 'boolean', default: false, describe: 'accept an even cluster size' },
  {
    flag: 'discovery-endpoint',
    type: 'string',
    defaultText: 'http://$DEIS_ETCD_DISCOVERY_SERVICE_HOST:$DEIS_ETCD_DISCOVERY_SERVICE_PORT',
    describe: 'client URL of the discovery service',
  },
  {
    flag: 'discovery-service-host',
    env: 'DEIS_ETCD_DISCOVERY_SERVICE_HOST',
    type: 'string',
    describe: "the discovery Service's host (set by Kubernetes)",
  },
  {
    flag: 'discovery-service-port',
    env: 'DEIS_ETCD_DISCOVERY_SERVICE_PORT',
    type: 'number',
    default: 2381,
    describe: "the discovery Service's port (set by Kubernetes)",
  },
  {
    flag: 'cluster-endpoints',
    type: 'string',
    defaultText: 'http://$DEIS_ETCD_SERVICE_HOST:$DEIS_ETCD_SERVICE_PORT if set',
    describe: 'comma-separated client URLs where the running cluster may answer (besides heartbeats and pods)',
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
    flag: 'selector',
    type: 'string',
    default: 'app.kubernetes.io/name=deis-etcd,app.kubernetes.io/component=member',
    describe: "label selector of the cluster's member pods",
  },
  {
    flag: 'statefulset',
    type: 'string',
    defaultText: 'the pod name without its ordinal',
    describe: 'StatefulSet whose replicas tell a scale-down from a restart',
  },
  {
    flag: 'kubernetes',
    type: 'string',
    default: 'auto',
    describe: 'use the Kubernetes API: auto (when configured), on, off',
  },
  {
    flag: 'client-port',
    deprecatedEnv: ['DEIS_ETCD_MEMBER_CLIENT_PORT'],
    type: 'number',
    default: 2379,
    describe: 'etcd client port',
  },
  { flag: 'peer-port', type: 'number', default: 2380, describe: 'etcd peer port' },
  {
    flag: 'etcd-metrics-port',
    type: 'number',
    default: 2381,
    describe:
      "etcd's --listen-metrics-urls port: it answers before etcd serves clients, so a joining learner's " +
      "progress is read there (the join watchdog); 0 turns it and the watchdog's progress check off",
  },
  {
    flag: 'peer-service',
    type: 'string',
    defaultText: 'none: peer URLs advertise the pod IP',
    describe:
      'headless Service whose DNS names the peer URLs advertise (<pod>.<service>.<namespace>.svc.<domain>): stable ' +
      'across IP changes, needed when the whole set can come back on persistent volumes with new IPs',
  },
  {
    flag: 'cluster-domain',
    type: 'string',
    default: 'cluster.local',
    describe: "the cluster's DNS domain, for --peer-service names",
  },
  {
    flag: 'data-dir',
    type: 'string',
    default: '/var/lib/etcd',
    describe: 'etcd data directory (a persistent volume keeps the member across pod restarts)',
  },
  {
    flag: 'etcd-binary',
    deprecatedEnv: ['DEIS_ETCD_BINARY'],
    type: 'string',
    default: 'etcd',
    defaultText: 'etcd (on PATH)',
    describe: 'the etcd 3.6+ executable to run',
  },
  { flag: 'http-port', type: 'number', default: 8080, describe: 'port of /healthz, /readyz and /metrics' },
  {
    flag: 'start-timeout',
    type: 'number',
    default: 120,
    describe: 'seconds for etcd to become healthy (and a learner to be promoted)',
  },
  {
    flag: 'wait-timeout',
    type: 'number',
    default: 300,
    describe: 'seconds to keep waiting (discovery down, no quorum, another member joining) before exiting',
  },
  {
    flag: 'rebuild-grace',
    type: 'number',
    default: 20,
    describe: 'seconds without any live member before the registry is reset and a new cluster bootstraps',
  },
  {
    flag: 'heal-interval',
    type: 'number',
    default: 10,
    describe: 'seconds between background heal passes (leader only)',
  },
  {
    flag: 'leave-timeout',
    type: 'number',
    default: 25,
    describe:
      "seconds a member scaled away keeps etcd serving until its removal is committed (keep it below the pod's " +
      'termination grace period)',
  },
  {
    flag: 'join-stall-timeout',
    type: 'number',
    default: 30,
    describe:
      'seconds a joining learner may go without applying anything new before it is removed, its data moved ' +
      'aside, and it joins again',
  },
  {
    flag: 'auto-recover',
    type: 'boolean',
    default: true,
    describe:
      'after --quorum-loss-grace without quorum, when the lost voters are gone for good (scaled away, or their ' +
      'pods back without data), the most up-to-date survivor restarts with --force-new-cluster and the others ' +
      'rejoin; false for manual recovery',
  },
  {
    flag: 'quorum-loss-grace',
    type: 'number',
    default: 60,
    describe: 'seconds without quorum before an automatic recovery is considered',
  },
  {
    flag: 'pod-gone-grace',
    type: 'number',
    default: 30,
    describe: "seconds a member's pod must be gone before the heal pass removes it",
  },
  { flag: 'log-level', type: 'string', default: 'info', describe: 'debug, info, warn or error' },
  { flag: 'log-format', type: 'string', default: 'json', describe: 'json or text' },
] as const satisfies readonly OptionSpec[];

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

  let discoveryEndpoint = opt.optStr('discovery-endpoint');
  if (discoveryEndpoint) checkUrl(discoveryEndpoint, opt.source('discovery-endpoint'), p);
  else {
    const host = opt.optStr('discovery-service-host');
    const port = opt.int('discovery-service-port', 1, 65535);
    if (host) discoveryEndpoint = `http://${urlHost(host)}:${port}`;
  }
  let clusterEndpoints = (opt.optStr('cluster-endpoints') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const u of clusterEndpoints) checkUrl(u, opt.source('cluster-endpoints'), p);
  if (!clusterEndpoints.length && env.DEIS_ETCD_SERVICE_HOST) {
    clusterEndpoints = [`http://${urlHost(env.DEIS_ETCD_SERVICE_HOST)}:${env.DEIS_ETCD_SERVICE_PORT ?? '2379'}`];
  }

  const etcdEnv: Record<string, string> = {};
  const etcdEnvDropped: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('ETCD_') || v === undefined) continue;
    if (!/^ETCD_[A-Z0-9_]+$/.test(k))
      p.add(`environment variable ${k} is not a valid etcd setting name (ETCD_ followed by upper-case flag words)`);
    else if (/[\n\r\0]/.test(v)) p.add(`environment variable ${k} holds a line break or NUL`);
    else if (OWNED_ETCD_ENV.includes(k)) etcdEnvDropped.push(`${k} is ignored: boot sets that etcd flag itself`);
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
  if (!cfg.selector.includes('='))
    p.add(`--selector must be a label selector like app=deis-etcd, not '${cfg.selector}'`);
  p.check('boot');
  return Object.freeze(cfg);
}
