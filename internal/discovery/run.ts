// The discovery program: runs one etcd as the in-cluster v3 discovery service, makes sure a token
// exists, seeds the registry's size key before any member can ask for it, and serves health,
// readiness and metrics until it is told to stop or its etcd dies.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { Runtime } from '../runtime.ts';
import type { DiscoveryConfig } from '../config/discovery.ts';
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import { advertiseAddress } from '../identity/identity.ts';
import type { KubeApi } from '../k8s/client.ts';
import { retry } from '../retry.ts';
import { Metrics, startHttpServer } from '../server/server.ts';
import {
  etcdHealthy,
  exitNumber,
  resolveBinary,
  startChild,
  waitUntil,
  type SpawnFn,
} from '../supervisor/supervisor.ts';
import { etcdEnv, memberArgs } from '../supervisor/etcd-args.ts';
import { urlHost } from '../net.ts';
import { resolveToken } from './token.ts';
import { Registry } from './registry.ts';
import type { Credentials, TlsPaths } from '../tls/pki.ts';
import { renewingClient } from '../tls/renewing-client.ts';

export interface DiscoveryDeps extends Runtime {
  cfg: DiscoveryConfig;
  /** Undefined when there is no Kubernetes API (a configured token is then required). */
  kube: () => KubeApi | undefined;
  /** An EtcdApi for the given client URLs (the caller closes it); `tls` for https ones. */
  connect: (endpoints: string[], tls?: Credentials) => EtcdApi;
  spawn?: SpawnFn;
}

/** A short fingerprint that lets operators correlate a token without logging it. */
export const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 12);

const NAME = 'deis-etcd-discovery';

/** etcd's own settings for the single discovery member: a one-member cluster of its own. */
export function discoveryEtcdArgs(cfg: DiscoveryConfig, host: string, tls?: TlsPaths): string[] {
  const scheme = tls ? 'https' : 'http';
  const peerUrl = `${scheme}://${urlHost(host)}:${cfg.peerPort}`;
  const clientUrl = `${scheme}://${urlHost(host)}:${cfg.clientPort}`;
  const { clientPort, peerPort, dataDir } = cfg;
  return [
    ...memberArgs({
      name: NAME,
      dataDir,
      listenHost: cfg.listenHost ?? host,
      clientPort,
      peerPort,
      clientUrl,
      peerUrl,
      ...(tls ? { tls, metricsPort: cfg.etcdMetricsPort } : {}),
    }),
    '--initial-cluster',
    `${NAME}=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    '--initial-cluster-token',
    NAME,
  ];
}

export async function runDiscovery(d: DiscoveryDeps): Promise<number> {
  const { cfg, log, clock } = d;
  const { host, source } = advertiseAddress(cfg.advertiseHost, d.interfaces);
  const clientUrl = `${cfg.tls.enabled ? 'https' : 'http'}://${urlHost(host)}:${cfg.clientPort}`;
  // with TLS the client port requires a certificate: etcd's plain-http metrics listener answers /health
  const healthUrl = cfg.tls.enabled ? `http://${urlHost(cfg.listenHost ?? host)}:${cfg.etcdMetricsPort}` : clientUrl;
  log.info('starting', { advertiseHost: host, addressSource: source, clusterSize: cfg.clusterSize, clientUrl });

  const kube = cfg.token === undefined ? d.kube() : undefined;
  const { token, source: tokenSource } = await retry(
    'resolve the discovery token',
    () =>
      resolveToken(cfg, {
        readFile: d.files.read,
        ...(kube
          ? { secret: (name: string, generate: () => string) => kube.getOrCreateSecret(name, 'token', generate) }
          : {}),
      }),
    { clock, log, attempts: 6 },
  );
  log.info('discovery token ready', { tokenSource, tokenFingerprint: fingerprint(token) });

  const kubeForSecrets = cfg.tls.enabled || cfg.auth.enabled ? (kube ?? d.kube()) : undefined;
  // X.509 (@peculiar/x509) loads only with --tls or --auth: it costs memory a plain discovery does not need
  const secure = cfg.tls.enabled || cfg.auth.enabled ? await import('./tls.ts') : undefined;
  const tls = await secure?.startDiscoveryTls({ ...d, kube: kubeForSecrets }, host);
  await secure?.ensureAuthSecrets({ ...d, kube: kubeForSecrets });

  await d.files.ensureWritableDir(cfg.dataDir, '--data-dir');
  const binary = resolveBinary(cfg.etcdBinary, d.env);

  const metrics = new Metrics();
  metrics.declare('deis_etcd_discovery_etcd_up', 'whether the discovery etcd answers healthy (1) or not (0)', 'gauge');
  metrics.declare('deis_etcd_discovery_registered_members', 'members registered for the token', 'gauge');
  metrics.declare('deis_etcd_discovery_live_heartbeats', 'members whose heartbeat is alive', 'gauge');
  metrics.declare('deis_etcd_discovery_registry_resets', 'registry resets (cluster rebuilds) so far', 'gauge');
  let etcd: EtcdApi | undefined;
  let registry: Registry | undefined;
  let seeded = false;

  const renewing = new AbortController();
  const renewal = tls?.run(AbortSignal.any([renewing.signal, d.signal]));
  const child = startChild(binary, discoveryEtcdArgs(cfg, host, tls?.keeper.paths), {
    env: etcdEnv(d.env),
    log,
    spawn: d.spawn,
  });
  const onAbort = () => child.signal('SIGTERM');
  d.signal.addEventListener('abort', onAbort, { once: true });
  let server: Server | undefined;
  try {
    server = await startHttpServer(cfg.listenHost ?? host, cfg.httpPort, {
      healthz: () => child.running(),
      readyz: async () => seeded && child.running() && (await etcdHealthy(d.fetch, healthUrl)),
      metrics: async () => {
        const up = await etcdHealthy(d.fetch, healthUrl);
        metrics.set('deis_etcd_discovery_etcd_up', up ? 1 : 0);
        if (up && registry) {
          try {
            const snap = await registry.snapshot();
            metrics.set('deis_etcd_discovery_registered_members', snap.members.length);
            metrics.set('deis_etcd_discovery_live_heartbeats', snap.heartbeats.length);
            metrics.set('deis_etcd_discovery_registry_resets', snap.resets);
          } catch {
            /* keep the last values */
          }
        }
        return metrics.render();
      },
    });

    await waitUntil(
      'the discovery etcd is healthy',
      () => etcdHealthy(d.fetch, healthUrl),
      child,
      clock,
      cfg.startTimeoutS * 1000,
    );
    const connectLocal = () => d.connect([clientUrl], tls?.keeper.current());
    const later = (fn: () => void) => void clock.sleep(30_000, d.signal).then(fn);
    etcd = tls ? renewingClient(connectLocal, tls.keeper, later) : connectLocal();
    registry = new Registry(etcd, token);
    const reg = registry;
    const { created, size } = await retry('seed the registry size', () => reg.seedSize(cfg.clusterSize), {
      clock,
      log,
    });
    if (!created && size !== cfg.clusterSize) {
      log.warn('registry size differs from the configured size; keeping the registry', {
        registrySize: size,
        clusterSize: cfg.clusterSize,
      });
    }
    seeded = true;
    log.info('discovery ready', {
      registry: '/_etcd/registry/<token>',
      tokenFingerprint: fingerprint(token),
      clusterSize: size,
      sizeCreated: created,
      clientUrl,
    });

    const status = await child.exited;
    if (d.signal.aborted) {
      log.info('stopped', { exitCode: exitNumber(status) });
      return 0;
    }
    throw new DeisError('etcd-exited', `the discovery etcd exited with ${status.signal ?? `code ${status.code}`}`, {
      exitStatus: exitNumber(status),
    });
  } catch (err) {
    if (d.signal.aborted) {
      log.info('stopped before ready');
      return 0;
    }
    throw err;
  } finally {
    renewing.abort();
    await renewal;
    d.signal.removeEventListener('abort', onAbort);
    etcd?.close();
    server?.close();
    if (child.running()) await child.stop(20_000);
  }
}
