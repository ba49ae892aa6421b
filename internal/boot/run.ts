// The boot program: find out who this member is, observe, decide (internal/membership), carry the
// plan out against the real cluster, then supervise etcd: heartbeats to the discovery service, a
// background heal pass on the leader, and a clean exit that removes the member only on a scale-down.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Runtime } from '../runtime.ts';
import type { BootConfig } from '../config/boot.ts';
import { ensureWritableDir } from '../datadir.ts';
import { DeisError, isReason } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import { HEARTBEAT_INTERVAL_S, Registry, type Heartbeat } from '../discovery/registry.ts';
import { resolveToken } from '../discovery/token.ts';
import { advertiseAddress, statefulSetOrdinal } from '../identity/identity.ts';
import type { KubeApi } from '../k8s/client.ts';
import type { Logger } from '../log/log.ts';
import { canRemove, decide, removals, type Plan } from '../membership/decide.ts';
import { retry } from '../retry.ts';
import { Metrics, startHttpServer } from '../server/server.ts';
import { etcdHealthy, exitNumber, resolveBinary, startChild, waitUntil, type Child, type SpawnFn } from '../supervisor/supervisor.ts';
import { markerPath, memberViews, observe, selfUrls, type Marker, type Observed, type Self } from './observe.ts';

/** The lock key, in the member cluster's own keyspace, that serializes membership changes. */
export const MEMBERSHIP_LOCK = '/_deis-etcd/locks/membership';

export interface BootDeps extends Runtime {
  cfg: BootConfig;
  kube: () => KubeApi | undefined;
  connect: (endpoints: string[]) => EtcdApi;
  spawn?: SpawnFn;
}

interface Start {
  args: string[];
  plan: Plan['kind'];
  /** Client URLs of healthy voting members (learners refuse most RPCs, so a learner promotes through these). */
  endpoints: string[];
}

/** etcd's flags common to every start. */
export function baseArgs(cfg: BootConfig, self: Self): string[] {
  const listen = cfg.listenHost ?? self.host;
  const l = listen.includes(':') ? `[${listen}]` : listen;
  return [
    '--name', self.name,
    '--data-dir', cfg.dataDir,
    '--listen-client-urls', `http://${l}:${cfg.clientPort}`,
    '--advertise-client-urls', self.clientUrl,
    '--listen-peer-urls', `http://${l}:${cfg.peerPort}`,
    '--initial-advertise-peer-urls', self.peerUrl,
  ];
}

/** The child's env: ours without ETCD_*, plus the validated ETCD_* pass-through settings. */
function etcdChildEnv(env: NodeJS.ProcessEnv, cfg: BootConfig): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('ETCD_'))), ...cfg.etcdEnv };
}

/**
 * The --initial-cluster value for joining: every member as name=peerURL (etcd checks that the list
 * matches the cluster's members by URL), this member under its own name; members that were added but
 * never started have no name yet and get a placeholder.
 */
export function initialCluster(members: { id: string; name: string; peerUrls: string[] }[], myId: string, self: Pick<Self, 'name' | 'peerUrl'>): string {
  return members.flatMap((m) => (m.id === myId ? [`${self.name}=${self.peerUrl}`] : m.peerUrls.map((u) => `${m.name || `unstarted-${m.id}`}=${u}`))).join(',');
}

export async function runBoot(d: BootDeps): Promise<number> {
  const { cfg, log, clock } = d;
  const metrics = new Metrics();
  metrics.declare('deis_etcd_up', 'whether this member\'s etcd answers healthy', 'gauge');
  metrics.declare('deis_etcd_members', 'members of the cluster', 'gauge');
  metrics.declare('deis_etcd_learners', 'learners in the cluster', 'gauge');
  metrics.declare('deis_etcd_membership_changes_total', 'membership changes this member made, by kind', 'counter');
  metrics.declare('deis_etcd_last_decision', 'the last plan decided (1 for the current one)', 'gauge');

  const kube = cfg.kubernetes === 'off' ? undefined : d.kube();
  if (cfg.kubernetes === 'on' && !kube) throw new DeisError('environment', 'DEIS_ETCD_KUBERNETES=on but there is no Kubernetes API: set KUBECONFIG or run in a pod with a service account');
  const podIp = cfg.advertiseHost ?? (kube ? (await retry('get this pod', () => kube.getPod(cfg.name), { clock, log, attempts: 5 }))?.ip : undefined);
  const { host, source } = advertiseAddress(podIp, d.interfaces);
  const self = selfUrls(cfg, host);
  const plog = log.child({ pod: cfg.name });
  plog.info('starting', { advertiseHost: host, addressSource: source, peerUrl: self.peerUrl, clientUrl: self.clientUrl, kubernetes: !!kube });
  for (const w of cfg.etcdEnvDropped) plog.warn('etcd setting ignored', { detail: w });

  let registry: Registry | undefined;
  let discoveryEtcd: EtcdApi | undefined;
  if (cfg.discoveryEndpoint) {
    const token = (await resolveToken({ token: cfg.token, tokenFile: cfg.tokenFile, tokenSecret: 'deis-etcd-discovery-token' }, { readFile: d.readFile })).token;
    discoveryEtcd = d.connect([cfg.discoveryEndpoint]);
    registry = new Registry(discoveryEtcd, token);
  } else {
    plog.warn('no discovery endpoint: this member can restart or join a running cluster but not bootstrap one', {});
  }
  ensureWritableDir(cfg.dataDir);
  const binary = resolveBinary(cfg.etcdBinary, d.env);

  let child: Child | undefined;
  let myId: string | undefined;
  let clusterId: string | undefined;
  let ready = false;
  const server: Server = await startHttpServer(cfg.listenHost ?? host, cfg.httpPort, {
    healthz: () => !child || child.running(),
    readyz: () => ready && !!child?.running(),
    metrics: async () => {
      metrics.set('deis_etcd_up', (await etcdHealthy(self.clientUrl)) ? 1 : 0);
      return metrics.render();
    },
  });

  const heartbeat = new HeartbeatKeeper(registry, () => ({ name: self.name, memberId: myId ?? '', clusterId: clusterId ?? '', peerUrl: self.peerUrl, clientUrl: self.clientUrl, at: new Date(clock.now()).toISOString() }), plog);
  try {
    const start = await decideAndPrepare(d, self, registry, kube, metrics, plog, heartbeat);
    if (!start) return 0;
    child = startChild(binary, [...baseArgs(cfg, self), ...start.args], { env: etcdChildEnv(d.env, cfg), log: plog, spawn: d.spawn });
    await waitUntil('etcd is healthy', () => etcdHealthy(self.clientUrl), child, clock, cfg.startTimeoutS * 1000);
    const local = d.connect([self.clientUrl]);
    try {
      const st = await retry('status of my etcd', () => local.status(self.clientUrl), { clock, log: plog, attempts: 10 });
      myId = st.memberId;
      clusterId = st.clusterId;
      const marker: Marker = { memberId: myId, clusterId, name: self.name, peerUrl: self.peerUrl };
      writeFileSync(markerPath(cfg.dataDir), JSON.stringify(marker) + '\n');
      if (start.plan === 'bootstrap' && registry) {
        const reg = registry;
        await retry('record the cluster', () => reg.recordCluster(st.clusterId, new Date(clock.now())), { clock, log: plog }).catch((err) => plog.warn('cannot record the cluster in the registry', { err }));
      }
    } finally {
      local.close();
    }
    if (start.endpoints.length) {
      const voters = d.connect(start.endpoints);
      try {
        await promoteSelf(voters, myId, d, plog, metrics);
      } finally {
        voters.close();
      }
    }
    await heartbeat.ensure();
    ready = true;
    plog.info('member ready', { memberId: myId, clusterId, plan: start.plan });

    const healer = startHealer(d, self, () => myId, kube, plog, metrics, heartbeat);
    const stopped = await Promise.race([
      child.exited.then((s) => ({ kind: 'exited' as const, s })),
      new Promise<{ kind: 'signal' }>((resolve) => {
        if (d.signal.aborted) resolve({ kind: 'signal' });
        d.signal.addEventListener('abort', () => resolve({ kind: 'signal' }), { once: true });
      }),
    ]);
    healer.stop();
    ready = false;
    if (stopped.kind === 'exited') {
      throw new DeisError('etcd-exited', `etcd exited with ${stopped.s.signal ?? `code ${stopped.s.code}`}`, { exitStatus: exitNumber(stopped.s) });
    }
    await leave(d, self, myId, kube, plog, metrics);
    await heartbeat.stop();
    const s = await child.stop(20_000);
    plog.info('stopped', { exitCode: exitNumber(s) });
    return 0;
  } catch (err) {
    if (d.signal.aborted && !(err instanceof DeisError && err.code === 'forbidden')) {
      plog.info('stopped before ready', {});
      return 0;
    }
    throw err;
  } finally {
    await heartbeat.stop();
    if (child?.running()) await child.stop(20_000);
    discoveryEtcd?.close();
    server.close();
  }
}

/** Observes and decides until a plan starts etcd; carries out removals, adds and resets on the way. */
async function decideAndPrepare(d: BootDeps, self: Self, registry: Registry | undefined, kube: KubeApi | undefined, metrics: Metrics, log: Logger, heartbeat: HeartbeatKeeper): Promise<Start | undefined> {
  const { cfg, clock } = d;
  let quietSince: number | undefined;
  let waitingSince: number | undefined;
  let last = '';
  const src = { registry, kube, connect: d.connect };
  for (let round = 0; ; round++) {
    if (d.signal.aborted) return undefined;
    const quiet = () => ({ quietForMs: quietSince === undefined ? 0 : clock.now() - quietSince, rebuildGraceMs: cfg.rebuildGraceS * 1000 });
    const seen = await observe(cfg, self, src, quiet());
    const alive = seen.obs.cluster.reachable || seen.obs.cluster.anyAlive || (seen.obs.discovery.reachable && seen.obs.discovery.heartbeats.length > 0);
    quietSince = alive ? undefined : (quietSince ?? clock.now());
    const plan = decide({ ...seen.obs, ...quiet() });
    const summary = `${plan.kind}:${'reason' in plan ? plan.reason : ''}`;
    if (summary !== last) {
      log.info('decided', { plan: plan.kind, reason: 'reason' in plan ? plan.reason : undefined, removals: plan.kind === 'join' ? plan.removals : undefined });
      last = summary;
    }
    for (const k of ['restart', 'rejoin', 'join', 'bootstrap', 'rebuild', 'wait', 'fail']) metrics.set('deis_etcd_last_decision', k === plan.kind ? 1 : 0, { plan: k });
    if (plan.kind !== 'wait') waitingSince = undefined;
    switch (plan.kind) {
      case 'wait': {
        waitingSince ??= clock.now();
        if (clock.now() - waitingSince > cfg.waitTimeoutS * 1000) {
          throw new DeisError(seen.obs.discovery.reachable ? 'membership' : 'unreachable', `gave up after ${cfg.waitTimeoutS} s: ${plan.reason}${cfg.discoveryEndpoint ? '' : ' (no discovery endpoint: set DEIS_ETCD_DISCOVERY_SERVICE_HOST or --discovery-endpoint)'}`);
        }
        await clock.sleep(Math.min(5000, 500 * 2 ** Math.min(round, 3)), d.signal);
        continue;
      }
      case 'fail':
        throw new DeisError('config', plan.reason);
      case 'rejoin': {
        const aside = join(cfg.dataDir, `member.removed-${new Date(clock.now()).toISOString().replace(/[:.]/g, '')}`);
        renameSync(join(cfg.dataDir, 'member'), aside);
        log.warn('data moved aside: the cluster removed this member', { dataDir: cfg.dataDir, movedTo: aside });
        continue;
      }
      case 'rebuild': {
        if (!registry) continue;
        await registry.withLock(async () => {
          const again = decide({ ...(await observe(cfg, self, src, quiet())).obs, ...quiet() });
          if (again.kind !== 'rebuild') return;
          await registry.reset();
          metrics.inc('deis_etcd_membership_changes_total', { kind: 'registry-reset' });
          log.warn('registry reset: rebuilding the cluster', { reason: plan.reason });
        });
        continue;
      }
      case 'restart': {
        if (plan.updatePeerUrl && plan.memberId && seen.endpoints.length) {
          const etcd = d.connect(seen.endpoints);
          try {
            await retry('update my peer URL', () => etcd.memberUpdate(plan.memberId!, [self.peerUrl]), { clock, log });
            metrics.inc('deis_etcd_membership_changes_total', { kind: 'update' });
            log.info('peer URL updated', { memberId: plan.memberId, peerUrl: self.peerUrl });
          } finally {
            etcd.close();
          }
        }
        await heartbeat.ensure();
        return { args: [], plan: 'restart', endpoints: seen.endpoints };
      }
      case 'bootstrap': {
        if (!registry) throw new DeisError('environment', 'a new cluster must bootstrap but no discovery endpoint is configured: set DEIS_ETCD_DISCOVERY_SERVICE_HOST or --discovery-endpoint');
        for (const id of plan.dropRegistrations) {
          await registry.removeRegistration(id);
          log.warn('stale registration of mine dropped', { memberId: id });
        }
        await heartbeat.ensure();
        return {
          plan: 'bootstrap',
          endpoints: [],
          args: ['--discovery-token', registry.token, '--discovery-endpoints', cfg.discoveryEndpoint!, '--initial-cluster-state', 'new', '--initial-cluster-token', `deis-etcd-${cfg.name.replace(/-\d+$/, '')}`],
        };
      }
      case 'join': {
        try {
          const args = await joinCluster(d, self, seen, src, quiet(), metrics, log);
          if (args) return { args, plan: 'join', endpoints: seen.endpoints };
        } catch (err) {
          if (!(err instanceof DeisError && err.retryable)) throw err;
          waitingSince ??= clock.now();
          log.warn('join attempt failed; deciding again', { err });
          await clock.sleep(1000, d.signal);
        }
        continue;
      }
      default: {
        const never: never = plan;
        throw new DeisError('internal', `unknown plan ${JSON.stringify(never)}`);
      }
    }
  }
}

/** Under the membership lock: re-decide, remove, add myself as a learner; the flags to start with. */
async function joinCluster(d: BootDeps, self: Self, seen: Observed, src: Parameters<typeof observe>[2], quiet: { quietForMs: number; rebuildGraceMs: number }, metrics: Metrics, log: Logger): Promise<string[] | undefined> {
  const etcd = d.connect(seen.endpoints);
  try {
    return await etcd.withLock(MEMBERSHIP_LOCK, 30, async () => {
      const plan = decide((await observe(d.cfg, self, src, quiet)).obs);
      if (plan.kind !== 'join') return undefined;
      for (const r of plan.removals) {
        await retry(`remove member ${r.id}`, () => etcd.memberRemove(r.id), { clock: d.clock, log, attempts: 5 }).catch((err) => {
          if (!isReason(err, 'member-not-found')) throw err;
        });
        metrics.inc('deis_etcd_membership_changes_total', { kind: 'remove' });
        log.info('member removed', { memberId: r.id, member: r.name, why: r.why });
      }
      let id = plan.reuseMemberId;
      let members;
      if (id) {
        members = (await etcd.memberList()).members;
        log.info('reusing my earlier add', { memberId: id });
      } else {
        const added = await retry('add myself as a learner', () => etcd.memberAdd([self.peerUrl], true), { clock: d.clock, log, attempts: 4, maxMs: 1000 }); // then release the lock and decide again
        id = added.member.id;
        members = added.members;
        metrics.inc('deis_etcd_membership_changes_total', { kind: 'add' });
        log.info('member added', { memberId: id, peerUrl: self.peerUrl, learner: true });
      }
      return ['--initial-cluster', initialCluster(members, id, self), '--initial-cluster-state', 'existing'];
    });
  } finally {
    etcd.close();
  }
}

/** Promotes this member if it is a learner, once it has caught up (etcd refuses before). */
async function promoteSelf(etcd: EtcdApi, myId: string, d: BootDeps, log: Logger, metrics: Metrics): Promise<void> {
  const deadline = d.clock.now() + d.cfg.startTimeoutS * 1000;
  for (;;) {
    const me = (await retry('member list', () => etcd.memberList(), { clock: d.clock, log })).members.find((m) => m.id === myId);
    if (!me?.isLearner) return;
    try {
      await etcd.memberPromote(myId);
      metrics.inc('deis_etcd_membership_changes_total', { kind: 'promote' });
      log.info('member promoted', { memberId: myId });
      return;
    } catch (err) {
      if (!(err instanceof DeisError && err.retryable) || d.clock.now() > deadline) throw err;
      await d.clock.sleep(500, d.signal);
    }
  }
}

/**
 * On a stop: hand leadership away, and only when the pod is going away for good (its StatefulSet
 * ordinal is at or beyond the replicas) remove this member. An ordinary restart never removes it.
 */
async function leave(d: BootDeps, self: Self, myId: string | undefined, kube: KubeApi | undefined, log: Logger, metrics: Metrics): Promise<void> {
  if (!myId) return;
  const ord = statefulSetOrdinal(self.name);
  let scaleDown = false;
  if (kube && ord) {
    try {
      const replicas = await kube.statefulSetReplicas(d.cfg.statefulSet ?? ord.set);
      scaleDown = replicas !== undefined && ord.ordinal >= replicas;
      log.info('stopping', { ordinal: ord.ordinal, replicas, scaleDown });
    } catch (err) {
      log.warn('cannot tell a scale-down from a restart; keeping the member', { err });
    }
  }
  const etcd = d.connect([self.clientUrl]);
  try {
    const st = await etcd.status(self.clientUrl);
    const { members } = await etcd.memberList();
    const views = await memberViews(etcd, members);
    if (st.leader === myId) {
      const target = views.find((m) => m.id !== myId && !m.isLearner && m.healthy);
      if (target) {
        await etcd.moveLeader(target.id);
        log.info('leadership moved', { to: target.id });
      }
    }
    if (scaleDown) {
      if (!canRemove(views, myId)) {
        log.warn('not removing myself: the rest would have no healthy majority', {});
        return;
      }
      await etcd.withLock(MEMBERSHIP_LOCK, 30, () => etcd.memberRemove(myId));
      metrics.inc('deis_etcd_membership_changes_total', { kind: 'remove-self' });
      log.info('member removed itself (scale-down)', { memberId: myId });
    }
  } catch (err) {
    log.warn('leaving the cluster cleanly failed', { err });
  } finally {
    etcd.close();
  }
}

/** Keeps this member's heartbeat record alive in the discovery service, re-creating a lost lease. */
class HeartbeatKeeper {
  private handle: { refresh(): Promise<void>; stop(): Promise<void> } | undefined;
  private readonly registry: Registry | undefined;
  private readonly record: () => Heartbeat;
  private readonly log: Logger;
  constructor(registry: Registry | undefined, record: () => Heartbeat, log: Logger) {
    this.registry = registry;
    this.record = record;
    this.log = log;
  }
  async ensure(): Promise<void> {
    if (!this.registry) return;
    try {
      if (this.handle) await this.handle.refresh();
      else this.handle = await this.registry.heartbeat(this.record);
    } catch (err) {
      this.log.warn('heartbeat failed', { err });
      const h = this.handle;
      this.handle = undefined;
      await h?.stop().catch(() => undefined);
    }
  }
  async stop(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.stop().catch(() => undefined);
  }
}

/**
 * The background pass: heartbeats every few seconds; on the leader, every heal interval, remove
 * members whose pods have been gone longer than the grace period and promote caught-up learners.
 */
function startHealer(d: BootDeps, self: Self, myId: () => string | undefined, kube: KubeApi | undefined, log: Logger, metrics: Metrics, heartbeat: HeartbeatKeeper): { stop(): void } {
  const goneSince = new Map<string, number>();
  let lastHeal = 0;
  let stopped = false;
  let running = false;
  const tick = async () => {
    if (running || stopped) return;
    running = true;
    try {
      await heartbeat.ensure();
      if (d.clock.now() - lastHeal < d.cfg.healIntervalS * 1000) return;
      lastHeal = d.clock.now();
      const etcd = d.connect([self.clientUrl]);
      try {
        const st = await etcd.status(self.clientUrl);
        const { members } = await etcd.memberList();
        metrics.set('deis_etcd_members', members.length);
        metrics.set('deis_etcd_learners', members.filter((m) => m.isLearner).length);
        if (st.leader !== myId()) return;
        const views = await memberViews(etcd, members);
        for (const m of views.filter((v) => v.isLearner && v.healthy)) {
          try { await etcd.memberPromote(m.id); metrics.inc('deis_etcd_membership_changes_total', { kind: 'promote' }); log.info('learner promoted', { memberId: m.id }); } catch { /* not caught up yet */ }
        }
        if (!kube) return;
        const pods = (await kube.listPods(d.cfg.selector)).map((p) => ({ name: p.name, ip: p.ip }));
        const { removals: candidates } = removals(views, { name: self.name, peerUrl: self.peerUrl }, pods);
        const now = d.clock.now();
        for (const id of [...goneSince.keys()]) if (!candidates.some((c) => c.id === id)) goneSince.delete(id);
        for (const c of candidates) {
          const since = goneSince.get(c.id) ?? now;
          goneSince.set(c.id, since);
          if (now - since < d.cfg.podGoneGraceS * 1000) continue;
          await etcd.withLock(MEMBERSHIP_LOCK, 30, () => etcd.memberRemove(c.id));
          goneSince.delete(c.id);
          metrics.inc('deis_etcd_membership_changes_total', { kind: 'remove' });
          log.info('member removed', { memberId: c.id, member: c.name, why: c.why });
          break; // one change per pass
        }
      } finally {
        etcd.close();
      }
    } catch (err) {
      log.warn('heal pass failed', { err });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => { void tick(); }, HEARTBEAT_INTERVAL_S * 1000);
  return { stop: () => { stopped = true; clearInterval(timer); } };
}
