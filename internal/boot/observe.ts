// Gathers what the membership decision needs, from the data dir, the discovery service, the running
// cluster and the Kubernetes API, into one plain Observation. Failures to reach a dependency become
// "not reachable" facts, never exceptions: deciding what to do about them is decide()'s job.
import { join } from 'node:path';
import type { BootConfig } from '../config/boot.ts';
import { urlHost } from '../net.ts';
import { isReason } from '../errors.ts';
import type { EtcdApi, Member } from '../etcd/client.ts';
import type { Registry, RegistrySnapshot } from '../discovery/registry.ts';
import { hasMemberData, type Files } from '../files.ts';
import { statefulSetOrdinal } from '../identity/identity.ts';
import type { KubeApi, PodInfo } from '../k8s/client.ts';
import { decide, type Observation, type Plan } from '../membership/decide.ts';
import { isLeaving } from '../membership/scale.ts';
import { timed, type Phases } from './phases.ts';
import { observeCluster } from './cluster-view.ts';
import type { Fetch } from '../runtime.ts';

/** Written into the data dir once this member runs, so a restart knows its member ID. */
export interface Marker {
  memberId: string;
  clusterId: string;
  name: string;
  peerUrl: string;
}
export const markerPath = (dataDir: string) => join(dataDir, 'deis-etcd-member.json');

export async function readMarker(files: Files, dataDir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse((await files.read(markerPath(dataDir))) ?? '') as Marker;
  } catch {
    return undefined;
  }
}

export interface Self {
  name: string;
  host: string;
  peerUrl: string;
  clientUrl: string;
  /** Where etcd's /health answers without a client certificate: the client URL, or with --tls the metrics listener. */
  healthUrl: string;
}

/**
 * This member's URLs. Client URLs advertise the pod IP; peer URLs too, unless a peer Service is
 * configured: then the stable DNS name <name>.<service>.<namespace>.svc.<domain>, which survives
 * the pod coming back with another IP (what a whole set re-created on its volumes needs).
 */
export function selfUrls(cfg: BootConfig, host: string): Self {
  const peerHost = cfg.peerService
    ? `${cfg.name}.${cfg.peerService}.${cfg.namespace}.svc.${cfg.clusterDomain}`
    : urlHost(host);
  const clientUrl = `${cfg.scheme}://${urlHost(host)}:${cfg.clientPort}`;
  return {
    name: cfg.name,
    host,
    peerUrl: `${cfg.scheme}://${peerHost}:${cfg.peerPort}`,
    clientUrl,
    healthUrl: cfg.tls.enabled ? `http://${urlHost(cfg.listenHost ?? host)}:${cfg.etcdMetricsPort}` : clientUrl,
  };
}

/** What observing needs: the config, who I am, the sources and the effects to reach them. */
export interface Sources {
  cfg: BootConfig;
  self: Self;
  registry: Registry | undefined;
  kube: KubeApi | undefined;
  /** An EtcdApi for the given client URLs (the caller closes it). */
  connect: (endpoints: string[]) => EtcdApi;
  fetch: Fetch;
  files: Files;
  /** Where the time goes (boot's context has them; other observers need not). */
  phases?: Phases;
}

/** How long nothing has lived anywhere, and how long that must last before a rebuild. */
export interface Quiet {
  quietForMs: number;
  rebuildGraceMs: number;
}

export interface Observed {
  obs: Observation;
  registry: RegistrySnapshot | undefined;
  pods: PodInfo[] | undefined;
  /** Client URLs where the cluster answered, mine excluded. */
  endpoints: string[];
  members: Member[] | undefined;
}

/** Client URLs the running cluster may answer at: heartbeats, member pods, configured endpoints. */
export function candidateEndpoints(
  cfg: BootConfig,
  self: Self,
  reg: RegistrySnapshot | undefined,
  pods: PodInfo[] | undefined,
): string[] {
  const urls = new Set<string>();
  for (const h of reg?.heartbeats ?? []) if (h.clientUrl && h.name !== self.name) urls.add(h.clientUrl);
  for (const p of pods ?? [])
    if (p.ip && p.name !== self.name) urls.add(`${cfg.scheme}://${urlHost(p.ip)}:${cfg.clientPort}`);
  for (const u of cfg.clusterEndpoints) urls.add(u);
  urls.delete(self.clientUrl);
  for (const u of bootstrappingPeers(self, reg)) urls.delete(u);
  return [...urls];
}

/**
 * Client URLs of peers that are bootstrapping a new cluster with this round of discovery: their
 * heartbeat says so and the round is still open (fewer registrations than the size), so no cluster
 * can have formed from it. Their etcd accepts connections but answers nothing until the round is
 * full; probing them would only wait out the probe's timeout. A member of an existing cluster never
 * writes that mark, so it is always probed.
 */
export function bootstrappingPeers(self: Pick<Self, 'name'>, reg: RegistrySnapshot | undefined): string[] {
  if (!reg || reg.cluster || reg.size === undefined) return [];
  if (reg.members.filter((r) => r.name !== self.name).length >= reg.size) return [];
  return reg.heartbeats.filter((h) => h.bootstrapping && !h.memberId && h.name !== self.name).map((h) => h.clientUrl);
}

/** This pod's StatefulSet, ordinal and the set's replicas; undefined without them (or unreadable). */
export async function scaleOf(
  src: Pick<Sources, 'cfg' | 'self' | 'kube'>,
): Promise<{ set: string; ordinal: number; replicas: number | undefined } | undefined> {
  const ord = statefulSetOrdinal(src.self.name);
  if (!src.kube || !ord) return undefined;
  const set = src.cfg.statefulSet ?? ord.set;
  return { set, ordinal: ord.ordinal, replicas: await src.kube.statefulSetReplicas(set) };
}

/** Whether this pod is being scaled away; false when that cannot be told. */
export async function isScaledAway(src: Pick<Sources, 'cfg' | 'self' | 'kube'>): Promise<boolean> {
  try {
    const s = await scaleOf(src);
    return !!s && s.replicas !== undefined && isLeaving(s.ordinal, s.replicas);
  } catch {
    return false;
  }
}

/** Observes, then decides: the one place a plan is made (the loop, and again under each lock). */
export async function look(src: Sources, quiet: Quiet): Promise<{ seen: Observed; plan: Plan }> {
  const seen = await observe(src, quiet);
  return { seen, plan: await timed(src.phases, 'decide', async () => decide(seen.obs)) };
}

/** The registry's snapshot, undefined while discovery cannot be read (a bad size key is fatal). */
async function snapshotOf(registry: Registry | undefined): Promise<RegistrySnapshot | undefined> {
  try {
    return await registry?.snapshot();
  } catch (err) {
    if (isReason(err, 'bad-size-key')) throw err;
    return undefined;
  }
}

export async function observe(src: Sources, quiet: Quiet): Promise<Observed> {
  const { cfg, self, phases } = src;
  // the sources do not depend on each other: read together, each timed on its own
  const [{ hasWal, marker }, registry, pods, scaledAway] = await Promise.all([
    timed(phases, 'observe.data', async () => {
      const wal = await hasMemberData(src.files, cfg.dataDir);
      return { hasWal: wal, marker: wal ? await readMarker(src.files, cfg.dataDir) : undefined };
    }),
    timed(phases, 'observe.registry', () => snapshotOf(src.registry)),
    // a 403 here is fatal and names the verb
    timed(phases, 'observe.kube', async () => (src.kube ? await src.kube.listPods(cfg.selector) : undefined)),
    timed(phases, 'observe.scale', () => isScaledAway(src)),
  ]);
  const { cluster, members, endpoints } = await timed(phases, 'observe.etcd', () =>
    observeCluster(src, candidateEndpoints(cfg, self, registry, pods)),
  );
  const obs: Observation = {
    self: { name: self.name, peerUrl: self.peerUrl },
    configuredSize: cfg.clusterSize,
    data: { hasWal, markerMemberId: marker?.memberId },
    discovery: registry
      ? {
          reachable: true,
          size: registry.size,
          registrations: registry.members,
          heartbeats: registry.heartbeats.filter((h) => h.name !== self.name).map((h) => h.name),
          clusterFormed: !!registry.cluster,
        }
      : { reachable: false },
    cluster,
    pods: pods?.map((p) => ({ name: p.name, ip: p.ip })),
    scaledAway,
    ...quiet,
  };
  return { obs, registry, pods, endpoints, members };
}
