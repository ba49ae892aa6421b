// etcd's command line and environment, as both programs start it: one member's name, data dir and
// URLs; the child env without our ETCD_* variables (etcd would read them as flags) plus the validated
// pass-through settings; and the --initial-cluster string a joining member needs.
import { urlHost } from '../net.ts';

export interface MemberUrls {
  name: string;
  dataDir: string;
  /** The address etcd listens on (an IP; IPv6 bracketed here). */
  listenHost: string;
  clientPort: number;
  peerPort: number;
  /** Advertised URLs. */
  clientUrl: string;
  peerUrl: string;
  /** etcd's metrics listener (served before etcd is ready for clients); 0 or absent: none. */
  metricsPort?: number;
  /** With TLS: https listeners, these files for clients and peers, client certificates required. */
  tls?: EtcdTlsFiles;
}

/** The PEM files etcd serves TLS with (the same certificate for its client and peer listeners). */
export interface EtcdTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * etcd's TLS flags: both listeners present `cert` and require a client certificate signed by `ca`
 * (etcd reads the files again for each new handshake, so rewriting them rotates the certificate).
 */
export function tlsArgs(f: EtcdTlsFiles): string[] {
  return [
    '--cert-file',
    f.cert,
    '--key-file',
    f.key,
    '--trusted-ca-file',
    f.ca,
    '--client-cert-auth',
    '--peer-cert-file',
    f.cert,
    '--peer-key-file',
    f.key,
    '--peer-trusted-ca-file',
    f.ca,
    '--peer-client-cert-auth',
  ];
}

/** etcd's flags for a v3 discovery service that requires client certificates (the same files). */
export function discoveryTlsArgs(f: EtcdTlsFiles): string[] {
  return ['--discovery-cacert', f.ca, '--discovery-cert', f.cert, '--discovery-key', f.key];
}

/** etcd's flags common to every start of a member: name, data dir, listen and advertised URLs. */
export function memberArgs(m: MemberUrls): string[] {
  const l = urlHost(m.listenHost);
  const scheme = m.tls ? 'https' : 'http';
  return [
    '--name',
    m.name,
    '--data-dir',
    m.dataDir,
    '--listen-client-urls',
    `${scheme}://${l}:${m.clientPort}`,
    '--advertise-client-urls',
    m.clientUrl,
    '--listen-peer-urls',
    `${scheme}://${l}:${m.peerPort}`,
    '--initial-advertise-peer-urls',
    m.peerUrl,
    ...(m.tls ? tlsArgs(m.tls) : []),
    ...(m.metricsPort ? ['--listen-metrics-urls', `http://${l}:${m.metricsPort}`] : []),
  ];
}

/**
 * etcd's maintenance flags: periodic auto-compaction keeping `retention` of history (a Go duration;
 * '0' leaves etcd's default, off).
 */
export function compactionArgs(retention: string): string[] {
  return retention === '0' ? [] : ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', retention];
}

/** The child's env: ours without ETCD_*, plus the validated ETCD_* pass-through settings. */
export function etcdEnv(env: NodeJS.ProcessEnv, passThrough: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('ETCD_'))), ...passThrough };
}

/**
 * The --initial-cluster value for joining, `name=peerURL,...`: every member (etcd checks that the
 * list matches the cluster's members by URL), this member under its own name; members that were
 * added but never started have no name yet and get a placeholder.
 */
export function initialCluster(
  members: readonly { id: string; name: string; peerUrls: string[] }[],
  myId: string,
  self: { name: string; peerUrl: string },
): string {
  return members
    .flatMap((m) =>
      m.id === myId ? [`${self.name}=${self.peerUrl}`] : m.peerUrls.map((u) => `${m.name || `unstarted-${m.id}`}=${u}`),
    )
    .join(',');
}
