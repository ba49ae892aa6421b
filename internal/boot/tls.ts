// boot's TLS (with --tls): reads the CA from its mounted Secret, issues this member's certificate for
// every name a client or peer may use, and keeps it renewed; boot's own etcd clients present it.
import type { BootConfig } from '../config/boot.ts';
import type { Files } from '../files.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/log.ts';
import { statefulSetOrdinal } from '../identity/identity.ts';
import { isIp } from '../net.ts';
import { LeafKeeper, readCa } from '../tls/pki.ts';
import { serviceNames } from '../tls/x509.ts';

/** The headless Service the base manifests give the StatefulSet (pod DNS names live under it). */
const DEFAULT_PEER_SERVICE = 'deis-etcd-peers';

/**
 * The names in a member's certificate: its pod IP, the pod's DNS names under the headless Service,
 * the client Service (deis-etcd, .ns, .ns.svc, .ns.svc.<domain>, and its address from --cluster-endpoints),
 * localhost and 127.0.0.1.
 */
export function memberNames(cfg: BootConfig, host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const set = cfg.statefulSet ?? statefulSetOrdinal(cfg.name)?.set ?? cfg.name;
  const headless = cfg.peerService ?? DEFAULT_PEER_SERVICE;
  const pod = serviceNames(headless, cfg.namespace, cfg.clusterDomain).map((n) => `${cfg.name}.${n}`);
  // the client Service's address (DEIS_ETCD_SERVICE_HOST, a ClusterIP) is how boot itself reaches the cluster
  const serviceHosts = cfg.clusterEndpoints.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''));
  const ips = ['127.0.0.1', host, ...serviceHosts].filter(isIp);
  const names = serviceHosts.filter((h) => !isIp(h));
  return {
    dnsNames: [...new Set([...pod, ...serviceNames(set, cfg.namespace, cfg.clusterDomain), ...names, 'localhost'])],
    ipAddresses: [...new Set(ips)],
  };
}

/** With --tls: the CA checked, this member's certificate issued into --tls-dir; undefined without. */
export async function startTls(
  d: { cfg: BootConfig; files: Files; clock: Clock; log: Logger },
  host: string,
): Promise<LeafKeeper | undefined> {
  const { cfg } = d;
  if (!cfg.tls.enabled) return undefined;
  const ca = await readCa(d.files, cfg.tls.caDir, d.clock.now());
  const keeper = new LeafKeeper({
    ca,
    request: { commonName: cfg.name, ...memberNames(cfg, host) },
    lifetimeMs: cfg.tls.lifetimeMs,
    renewBeforeMs: cfg.tls.renewBeforeMs,
    dir: cfg.tls.dir,
    files: d.files,
    clock: d.clock,
    log: d.log,
  });
  await keeper.issue();
  return keeper;
}
