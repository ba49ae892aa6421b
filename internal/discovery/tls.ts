// discovery's TLS (with --tls): the CA Secret and the client Secret made when absent (with Kubernetes;
// without it, the CA comes from --tls-ca-dir as for boot), and the discovery etcd's own certificate
// for every name a member may reach it by; both certificates renewed ahead of expiry while it runs.
import type { DiscoveryConfig } from '../config/discovery.ts';
import type { KubeApi } from '../k8s/client.ts';
import { isIp } from '../net.ts';
import type { Runtime } from '../runtime.ts';
import { LeafKeeper, readCa } from '../tls/pki.ts';
import { ensureCaSecret, ensureClientSecret } from '../tls/secrets.ts';
import { renewAt, serviceNames, type CertInfo, type KeyPair } from '../tls/x509.ts';
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

/** Discovery's TLS at run time: its own certificate, and the loops that renew it and the client Secret. */
export interface DiscoveryTls {
  keeper: LeafKeeper;
  /** Renews discovery's certificate and (with Kubernetes) the client Secret until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** How often the client Secret is looked at when not yet due (someone may have replaced it). */
export const CLIENT_SECRET_CHECK_MS = 3_600_000;

type TlsDeps = Pick<Runtime, 'files' | 'clock' | 'log'> & { cfg: DiscoveryConfig; kube: KubeApi | undefined };

/** The client Secret made when absent, issued again when due (the leaves' renew-before rule). */
async function clientSecret(d: TlsDeps & { kube: KubeApi }, ca: KeyPair): Promise<CertInfo> {
  const { cfg, kube, clock, log } = d;
  const { info, renewed } = await ensureClientSecret(kube, ca, {
    name: cfg.clientSecret,
    lifetimeMs: cfg.clientCertLifetimeMs,
    renewBeforeMs: cfg.tls.renewBeforeMs,
    now: clock.now(),
    create: cfg.createTlsSecrets,
  });
  if (renewed) {
    log.info('client certificate renewed', {
      clientSecret: cfg.clientSecret,
      serial: info.serial,
      notAfter: new Date(info.notAfter).toISOString(),
    });
  }
  return info;
}

/**
 * Keeps the client Secret: wakes when it is due (at least hourly, to see a replaced Secret), renews it.
 * A failure is logged and retried a minute later (the old certificate is still valid meanwhile).
 */
export async function keepClientSecret(
  d: TlsDeps & { kube: KubeApi },
  ca: KeyPair,
  first: CertInfo,
  signal: AbortSignal,
): Promise<void> {
  let info = first;
  while (!signal.aborted) {
    const wait = Math.min(CLIENT_SECRET_CHECK_MS, renewAt(info, d.cfg.tls.renewBeforeMs) - d.clock.now());
    await d.clock.sleep(Math.max(0, wait), signal);
    if (signal.aborted) return;
    try {
      info = await clientSecret(d, ca);
    } catch (err) {
      d.log.warn('client certificate renewal failed; retrying', { err, backoffMs: 60_000 });
      await d.clock.sleep(60_000, signal);
    }
  }
}

/** With --tls: the CA (and the client Secret) ready, this etcd's certificate issued; undefined without. */
export async function startDiscoveryTls(d: TlsDeps, host: string): Promise<DiscoveryTls | undefined> {
  const { cfg, kube, clock, log } = d;
  if (!cfg.tls.enabled) return undefined;
  let ca: Awaited<ReturnType<typeof readCa>>;
  let client: CertInfo | undefined;
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
    client = await retry('ensure the client certificate Secret', () => clientSecret({ ...d, kube }, ca), {
      clock,
      log,
      attempts: 6,
    });
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
  const keepClient = kube && client && cfg.createTlsSecrets ? { kube, first: client } : undefined;
  return {
    keeper,
    run: async (signal) => {
      await Promise.all([
        keeper.run(signal),
        keepClient && keepClientSecret({ ...d, kube: keepClient.kube }, ca, keepClient.first, signal),
      ]);
    },
  };
}
