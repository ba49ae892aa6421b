// The boot program's option table: every flag, the env name it reads, its typed default and its help.
// It drives yargs, --help and the README's flag list (build/docs.ts).
import { DEFAULT_TOKEN_FILE } from './checks.ts';
import type { OptionSpec } from './options.ts';
import { tlsOptions } from './tls.ts';
import { bootAuthOptions } from './auth.ts';
import { maintenanceOptions } from './maintenance-options.ts';

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
    defaultText: 'http(s with --tls)://$DEIS_ETCD_DISCOVERY_SERVICE_HOST:$DEIS_ETCD_DISCOVERY_SERVICE_PORT',
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
    defaultText: 'http(s with --tls)://$DEIS_ETCD_SERVICE_HOST:$DEIS_ETCD_SERVICE_PORT if set',
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
  ...maintenanceOptions,
  ...tlsOptions,
  ...bootAuthOptions,
  { flag: 'log-level', type: 'string', default: 'info', describe: 'debug, info, warn or error' },
  { flag: 'log-format', type: 'string', default: 'json', describe: 'json or text' },
] as const satisfies readonly OptionSpec[];
