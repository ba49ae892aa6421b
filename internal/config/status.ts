// The status command's settings: one table (flags, env names, help) and one pure validation.
import type { OptionSpec, RawOptions } from './options.ts';
import { OptionReader, Problems } from './reader.ts';

export const statusOptions = [
  {
    flag: 'namespace',
    alias: 'n',
    type: 'string',
    defaultText: "the kubeconfig context's, else default",
    describe: 'namespace of the deis-etcd cluster',
  },
  {
    flag: 'output',
    alias: 'o',
    type: 'string',
    default: 'table',
    describe: 'table or json',
  },
  {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    type: 'string',
    defaultText: "~/.kube/config, else the pod's service account",
    describe: 'kubeconfig file to use',
  },
  {
    flag: 'context',
    type: 'string',
    defaultText: 'the current context',
    describe: 'kubeconfig context to use',
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
    default: 'deis-etcd',
    describe: "the members' StatefulSet",
  },
  {
    flag: 'client-port',
    type: 'number',
    default: 2379,
    describe: "the members' etcd client port (reached through the API server's pod proxy)",
  },
  {
    flag: 'discovery-selector',
    type: 'string',
    default: 'app.kubernetes.io/name=deis-etcd,app.kubernetes.io/component=discovery',
    describe: 'label selector of the discovery pod (heartbeats and registrations)',
  },
  {
    flag: 'discovery-port',
    type: 'number',
    default: 2381,
    describe: "the discovery service's etcd client port",
  },
  {
    flag: 'token-secret',
    type: 'string',
    default: 'deis-etcd-discovery-token',
    describe: 'Secret holding the discovery token (to read the registry)',
  },
  {
    flag: 'via',
    type: 'string',
    default: 'auto',
    describe:
      "how to reach etcd in the pods: proxy (the API server's pod proxy), direct (the pod IPs: in a pod or on the pod network), " +
      'auto (direct in a pod; else the proxy, and direct for pods the API server does not proxy to)',
  },
  {
    flag: 'client-secret',
    type: 'string',
    default: 'deis-etcd-client-tls',
    describe:
      'Secret with the client certificate (ca.crt, tls.crt, tls.key): when it exists, status speaks TLS to the members ' +
      'and discovery, straight to the pod IPs (the pod proxy presents no client certificate)',
  },
  { flag: 'cacert', type: 'string', describe: 'CA file for TLS, instead of the client Secret (with --cert and --key)' },
  { flag: 'cert', type: 'string', describe: 'client certificate file for TLS, instead of the client Secret' },
  { flag: 'key', type: 'string', describe: "client certificate's key file for TLS, instead of the client Secret" },
  {
    flag: 'root-secret',
    type: 'string',
    default: 'deis-etcd-root',
    describe: "Secret with root's password (key password): when it exists, status authenticates to the members as root",
  },
  {
    flag: 'timeout',
    type: 'number',
    default: 5,
    describe: 'seconds to wait for each answer',
  },
] as const satisfies readonly OptionSpec[];

export interface StatusConfig {
  readonly namespace: string | undefined;
  readonly output: 'table' | 'json';
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly selector: string;
  readonly statefulSet: string;
  readonly clientPort: number;
  readonly discoverySelector: string;
  readonly discoveryPort: number;
  readonly tokenSecret: string;
  readonly timeoutS: number;
  readonly via: 'auto' | 'proxy' | 'direct';
  readonly clientSecret: string;
  /** TLS files given by flag (all three), instead of the client Secret. */
  readonly tlsFiles: { ca: string; cert: string; key: string } | undefined;
  readonly rootSecret: string;
}

/** --cacert, --cert and --key: all three or none. */
function tlsFiles(opt: OptionReader<(typeof statusOptions)[number]>, p: Problems): StatusConfig['tlsFiles'] {
  const [ca, cert, key] = [opt.optStr('cacert'), opt.optStr('cert'), opt.optStr('key')];
  if (ca !== undefined && cert !== undefined && key !== undefined) return { ca, cert, key };
  if (ca !== undefined || cert !== undefined || key !== undefined)
    p.add('--cacert, --cert and --key go together: give all three, or none to read the client Secret');
  return undefined;
}

export function validateStatus(raw: RawOptions): StatusConfig {
  const p = new Problems();
  const opt = new OptionReader(statusOptions, raw, p);
  const cfg: StatusConfig = {
    namespace: opt.optStr('namespace'),
    output: opt.oneOf('output', ['table', 'json'] as const),
    kubeconfig: opt.optStr('kubeconfig'),
    context: opt.optStr('context'),
    selector: opt.str('selector'),
    statefulSet: opt.str('statefulset'),
    clientPort: opt.int('client-port', 1, 65535),
    discoverySelector: opt.str('discovery-selector'),
    discoveryPort: opt.int('discovery-port', 1, 65535),
    tokenSecret: opt.str('token-secret'),
    timeoutS: opt.int('timeout', 1, 300),
    via: opt.oneOf('via', ['auto', 'proxy', 'direct'] as const),
    clientSecret: opt.str('client-secret'),
    tlsFiles: tlsFiles(opt, p),
    rootSecret: opt.str('root-secret'),
  };
  for (const f of ['selector', 'discovery-selector'] as const)
    if (!opt.str(f).includes('=')) p.add(`${opt.source(f)} must be a label selector like app=deis-etcd`);
  p.check('deis-etcd status');
  return Object.freeze(cfg);
}
