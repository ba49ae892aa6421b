// discovery's TLS (with --tls): the CA Secret and the client Secret made when absent (with Kubernetes;
// without it, the CA comes from --tls-ca-dir as for boot), and the discovery etcd's own certificate
// for every name a member may reach it by, renewed ahead of expiry.
import type { DiscoveryConfig } from '../config/discovery.ts';
import type { KubeApi } from '../k8s/client.ts';
import { isIp } from '../net.ts';
import type { Runtime } from '../runtime.ts';
import { LeafKeeper, readCa } from '../tls/pki.ts';
import { ensureCaSecret, ensureClientSecret } from '../tls/secrets.ts';
import { serviceNames } from '../tls/x509.ts';
import { retry } from '../retry.ts';
import { generateToken } from './token.ts';

/** With --auth and Kubernetes: the root and application passwords' Secrets, random ones made when absent. */
export async function ensureAuthSecrets(
  d: Pick<Runtime, 'clock' | 'log'> & { cfg: DiscoveryConfig; kube: KubeApi | undefined },
): Promise<void> {
  const { cfg, kube, clock, log } = d;
  if (!cfg.auth.enabled || !kube) return;
  for (const name of [cfg.auth.rootSecret, cfg.auth.appSecret]) {
    await retry(`ensure the Secret ${name}`, () => kube.getOrCreateSecret(name, 'password', generateToken), {
      clock,
      log,
      attempts: 6,
    });
  }
  log.info('password Secrets ready', { rootSecret: cfg.auth.rootSecret, appSecret: cfg.auth.appSecret });
}

/** The discovery Service's name in the manifests (its DNS names go into the certificate). */
const SERVICE = 'deis-etcd-discovery';

/** The names in the discovery etcd's certificate: the Service's names and IP, the pod IP, localhost. */
export function discoveryNames(cfg: DiscoveryConfig, host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const ips = ['127.0.0.1', host, ...(cfg.serviceHost ? [cfg.serviceHost] : [])].filter(isIp);
  const dns = cfg.serviceHost && !isIp(cfg.serviceHost) ? [cfg.serviceHost] : [];
  return {
    dnsNames: [...new Set([...serviceNames(SERVICE, cfg.namespace, cfg.clusterDomain), ...dns, 'localhost'])],
    ipAddresses: [...new Set(ips)],
  };
}

/** With --tls: the CA (and the client Secret) ready, this etcd's certificate issued; undefined without. */
export async function startDiscoveryTls(
  d: Pick<Runtime, 'files' | 'clock' | 'log'> & { cfg: DiscoveryConfig; kube: KubeApi | undefined },
  host: string,
): Promise<LeafKeeper | undefined> {
  const { cfg, kube, clock, log } = d;
  if (!cfg.tls.enabled) return undefined;
  let ca: Awaited<ReturnType<typeof readCa>>;
  if (kube) {
    ca = await retry(
      'ensure the CA Secret',
      () => ensureCaSecret(kube, cfg.caSecret, clock.now(), cfg.createTlsSecrets),
      {
        clock,
        log,
        attempts: 10,
      },
    );
    const client = await retry(
      'ensure the client certificate Secret',
      () => ensureClientSecret(kube, cfg.clientSecret, ca, cfg.clientCertLifetimeMs, clock.now(), cfg.createTlsSecrets),
      { clock, log, attempts: 6 },
    );
    log.info('TLS Secrets ready', {
      caSecret: cfg.caSecret,
      clientSecret: cfg.clientSecret,
      clientNotAfter: new Date(client.notAfter).toISOString(),
    });
  } else {
    ca = await readCa(d.files, cfg.tls.caDir, clock.now());
  }
  const keeper = new LeafKeeper({
    ca,
    request: { commonName: SERVICE, ...discoveryNames(cfg, host) },
    lifetimeMs: cfg.tls.lifetimeMs,
    renewBeforeMs: cfg.tls.renewBeforeMs,
    dir: cfg.tls.dir,
    files: d.files,
    clock,
    log,
  });
  await keeper.issue();
  return keeper;
}
