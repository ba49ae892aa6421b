// What every part of boot works with: the validated config, the side effects from the runtime, who
// this member is, and the adapters and records it shares (registry, heartbeat, metrics). Built once
// at start by createContext; the parts take it instead of long positional argument lists.
import type { BootConfig } from '../config/boot.ts';
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import { Registry, type Heartbeat } from '../discovery/registry.ts';
import { resolveToken } from '../discovery/token.ts';
import { DEFAULT_TOKEN_SECRET } from '../config/checks.ts';
import { advertiseAddress, statefulSetOrdinal } from '../identity/identity.ts';
import type { KubeApi } from '../k8s/client.ts';
import type { Logger } from '../log/log.ts';
import { retry } from '../retry.ts';
import type { Runtime } from '../runtime.ts';
import type { SpawnFn } from '../supervisor/supervisor.ts';
import type { RestoreFn } from '../snapshot/restore.ts';
import { LeaseKeeper } from './heartbeat.ts';
import { EventRecorder } from './events.ts';
import { bootMetrics, type BootMetrics } from './metrics.ts';
import { Phases } from './phases.ts';
import { selfUrls, type Self } from './observe.ts';
import type { Credentials, LeafKeeper } from '../tls/pki.ts';
import { rootCredentials, type AuthState } from './auth.ts';
import { renewingClient } from '../tls/renewing-client.ts';

/** What the entry point passes to runBoot: the runtime plus the adapters' factories. */
export interface BootDeps extends Runtime {
  cfg: BootConfig;
  kube: () => KubeApi | undefined;
  /** An EtcdApi for the given client URLs (the caller closes it); `tls` for https ones. */
  connect: (endpoints: string[], tls?: Credentials, auth?: { username: string; password: string }) => EtcdApi;
  spawn?: SpawnFn;
  /** Restores a --restore-from snapshot into the data dir (internal/snapshot/restore.ts; a fake in tests). */
  restore?: RestoreFn;
  /** When the process started (epoch ms, performance.timeOrigin): the phases count from it. */
  startedAt?: number;
}

export interface BootContext extends Omit<BootDeps, 'kube' | 'log' | 'connect'> {
  /** An EtcdApi for the given client URLs (the caller closes it), presenting this member's certificate with --tls. */
  readonly connect: (endpoints: string[]) => EtcdApi;
  /** With --auth: root's credentials (boot's member clients use them once etcd asks). */
  readonly root: { username: string; password: string } | undefined;
  /** What the leader last applied of the application user. */
  readonly authState: AuthState;
  /** With --tls: this member's certificate, renewed ahead of expiry. */
  readonly tls: LeafKeeper | undefined;
  /** Bound to this pod. */
  readonly log: Logger;
  readonly self: Self;
  readonly kube: KubeApi | undefined;
  /** Undefined without a discovery endpoint (this member can then restart or join, not bootstrap). */
  readonly registry: Registry | undefined;
  readonly metrics: BootMetrics;
  /** Kubernetes Events about this pod, its peers and the StatefulSet (a no-op without Kubernetes). */
  readonly events: EventRecorder;
  readonly heartbeat: LeaseKeeper;
  /** The announcement that this pod waits without member data (read by a quorum-loss recovery). */
  readonly noData: LeaseKeeper;
  /** Filled in once this member's etcd runs; `bootstrapping` while it starts a new cluster through discovery. */
  readonly member: { id?: string; clusterId?: string; bootstrapping?: boolean };
  /** One client for this member's own etcd, kept for the passes that run every second (closed at exit). */
  readonly local: { client?: EtcdApi };
  /** Where the time to ready went (phases.ts). */
  readonly phases: Phases;
}

/** Learns who this member is (pod IP from the API when not configured) and wires the shared parts. */
export async function createContext(d: BootDeps): Promise<BootContext> {
  const { cfg, clock } = d;
  const phases = new Phases(clock, d.startedAt);
  const identityStart = clock.now();
  const kube = cfg.kubernetes === 'off' ? undefined : d.kube();
  if (cfg.kubernetes === 'on' && !kube) {
    throw new DeisError(
      'environment',
      'DEIS_ETCD_KUBERNETES=on but there is no Kubernetes API: set KUBECONFIG or run in a pod with a service account',
    );
  }
  const getPod = () => kube!.getPod(cfg.name);
  const podIp =
    cfg.advertiseHost ??
    (kube ? (await retry('get this pod', getPod, { clock, log: d.log, attempts: 5 }))?.ip : undefined);
  const { host, source } = advertiseAddress(podIp, d.interfaces);
  const self = selfUrls(cfg, host);
  phases.add('identity', clock.now() - identityStart);
  const log = d.log.child({ pod: cfg.name });
  log.info('starting', {
    advertiseHost: host,
    addressSource: source,
    peerUrl: self.peerUrl,
    clientUrl: self.clientUrl,
    kubernetes: !!kube,
  });
  for (const w of cfg.etcdEnvDropped) log.warn('etcd setting ignored', { detail: w });

  // X.509 (@peculiar/x509) loads only with --tls: it costs memory a plain member does not need
  const tls = cfg.tls.enabled ? await (await import('./tls.ts')).startTls({ ...d, log }, host) : undefined;
  // https endpoints get this member's current certificate: clients made after a renewal present the new one
  const tlsFor = (endpoints: string[]) =>
    tls && endpoints.some((u) => u.startsWith('https:')) ? tls.current() : undefined;
  // the member cluster's calls authenticate as root once etcd asks (--auth); discovery's never do
  const root = await rootCredentials(cfg, d.files);
  const connect = (endpoints: string[]) => d.connect(endpoints, tlsFor(endpoints), root);
  const connectDiscovery = (endpoints: string[]) => d.connect(endpoints, tlsFor(endpoints));
  let registry: Registry | undefined;
  if (cfg.discoveryEndpoint) {
    const { token } = await resolveToken(
      { token: cfg.token, tokenFile: cfg.tokenFile, tokenSecret: DEFAULT_TOKEN_SECRET },
      { readFile: d.files.read },
    );
    const endpoint = cfg.discoveryEndpoint;
    const later = (fn: () => void) => void clock.sleep(30_000, d.signal).then(fn);
    registry = new Registry(
      tls ? renewingClient(() => connectDiscovery([endpoint]), tls, later) : connectDiscovery([endpoint]),
      token,
    );
  } else {
    log.warn('no discovery endpoint: this member can restart or join a running cluster but not bootstrap one', {});
  }
  const member: BootContext['member'] = {};
  const record = (): Heartbeat => ({
    name: self.name,
    memberId: member.id ?? '',
    clusterId: member.clusterId ?? '',
    peerUrl: self.peerUrl,
    clientUrl: self.clientUrl,
    at: new Date(clock.now()).toISOString(),
    ...(member.bootstrapping && !member.id ? { bootstrapping: true as const } : {}),
  });
  const reg = registry;
  const heartbeat = new LeaseKeeper(reg && (() => reg.heartbeat(record)), log, 'heartbeat');
  const noData = new LeaseKeeper(
    reg && (() => reg.announceNoData(self.name, () => new Date(clock.now()))),
    log,
    'no-data record',
  );
  const metrics = bootMetrics();
  const events = new EventRecorder({
    sink: kube?.events,
    counted: (reason) => metrics.inc('deis_etcd_events_total', { reason }),
    log,
    clock,
    pod: cfg.name,
    statefulSet: cfg.statefulSet ?? statefulSetOrdinal(cfg.name)?.set ?? cfg.name,
  });
  // the certificate's expiry on /metrics (the monitoring component alerts ahead of it) and an Event
  // on each renewal
  const expiry = () => {
    const info = tls?.info();
    if (info)
      metrics.set('deis_etcd_certificate_expiry_timestamp_seconds', info.notAfter / 1000, { certificate: 'member' });
    return info;
  };
  expiry();
  tls?.onRenew(() => {
    const info = expiry();
    events.emit(
      'CertificateRenewed',
      `certificate of ${cfg.name} renewed: serial ${info?.serial}, valid until ${info ? new Date(info.notAfter).toISOString() : '?'}`,
    );
  });
  const local: BootContext['local'] = {};
  // the kept client holds the old certificate: the next pass makes a new one (the old one stays valid
  // until its own expiry, so a call still running on it finishes)
  tls?.onRenew(() => {
    const old = local.client;
    local.client = undefined;
    void clock.sleep(30_000, d.signal).then(() => old?.close());
  });
  return {
    ...d,
    connect,
    tls,
    root,
    authState: {},
    log,
    self,
    kube,
    registry,
    metrics,
    events,
    heartbeat,
    noData,
    member,
    local,
    phases,
  };
}

/** Runs fn with the kept client for this member's own etcd. */
export function withLocal<T>(
  ctx: Pick<BootContext, 'connect' | 'self' | 'local'>,
  fn: (etcd: EtcdApi) => Promise<T>,
): Promise<T> {
  ctx.local.client ??= ctx.connect([ctx.self.clientUrl]);
  return fn(ctx.local.client);
}

/** Runs fn with a client for the given endpoints, closing it afterwards. */
export async function withEtcd<T>(
  ctx: Pick<BootContext, 'connect'>,
  endpoints: string[],
  fn: (etcd: EtcdApi) => Promise<T>,
): Promise<T> {
  const etcd = ctx.connect(endpoints);
  try {
    return await fn(etcd);
  } finally {
    etcd.close();
  }
}
