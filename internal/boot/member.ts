// Starting this member's etcd from a plan and bringing it to ready: spawn, wait for health, learn
// its member and cluster IDs (written to the data dir's marker for the next restart), record a new
// cluster in the registry, promote a learner through the voters, write the first heartbeat.
import { isReason } from '../errors.ts';
import { retry } from '../retry.ts';
import { etcdHealthy, startChild, waitUntil, type Child } from '../supervisor/supervisor.ts';
import { compactionArgs, discoveryTlsArgs, etcdEnv, memberArgs } from '../supervisor/etcd-args.ts';
import { prepare, type Start } from './act.ts';
import { abandonJoin, promoteSelf } from './changes.ts';
import { withEtcd, type BootContext } from './context.ts';
import { PublishWatch } from './publish.ts';
import { JoinWatchdog } from './watchdog.ts';
import { markerPath, type Marker } from './observe.ts';

/** How long etcd gets to stop after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 20_000;
const JOIN_ATTEMPTS = 3;
/** How long that etcd gets to stop (it answers, so SIGTERM ends it in well under a second). */
const PUBLISH_RESTART_GRACE_MS = 5000;

/**
 * Decides, starts etcd and brings it to ready; a join that stalls is given up (learner removed, data
 * moved aside) and tried again, up to JOIN_ATTEMPTS times. `onChild` sees each child at once (for
 * /healthz). Undefined when stopped before a plan started etcd.
 */
export async function startMember(
  ctx: BootContext,
  binary: string,
  onChild: (c: Child) => void,
): Promise<{ child: Child; start: Start } | undefined> {
  for (let attempt = 1; ; attempt++) {
    const t0 = ctx.clock.now();
    const start = await prepare(ctx);
    if (!start) return undefined;
    let child = spawnEtcd(ctx, binary, start);
    onChild(child);
    try {
      try {
        await becomeReady(ctx, child, start);
      } catch (err) {
        if (!isReason(err, 'publish-lost')) throw err;
        ctx.log.warn('restarting etcd once: its first publish was lost', { err });
        await child.stop(PUBLISH_RESTART_GRACE_MS);
        const restart: Start = { ...start, plan: 'restart' }; // its data dir has the member now
        child = spawnEtcd(ctx, binary, restart);
        onChild(child);
        await becomeReady(ctx, child, restart);
      }
      if (start.plan === 'join') ctx.metrics.observe('deis_etcd_join_duration_seconds', (ctx.clock.now() - t0) / 1000);
      return { child, start };
    } catch (err) {
      if (!isReason(err, 'join-stalled') || attempt >= JOIN_ATTEMPTS || ctx.signal.aborted) throw err;
      ctx.log.warn('join stalled', { err, attempt, maxAttempts: JOIN_ATTEMPTS });
      // a stalled etcd need not be waited for
      await abandonJoin(ctx, () => child.stop(2000), start.endpoints, start.memberId);
    }
  }
}

/** Spawns etcd with the plan's flags. */
export function spawnEtcd(ctx: BootContext, binary: string, start: Start): Child {
  const { cfg, self } = ctx;
  const args = memberArgs({
    name: self.name,
    dataDir: cfg.dataDir,
    listenHost: cfg.listenHost ?? self.host,
    clientPort: cfg.clientPort,
    peerPort: cfg.peerPort,
    clientUrl: self.clientUrl,
    peerUrl: self.peerUrl,
    metricsPort: cfg.etcdMetricsPort,
    ...(ctx.tls ? { tls: ctx.tls.paths } : {}),
  });
  // a bootstrap through a discovery service that requires client certificates presents this member's
  const discoveryTls =
    ctx.tls && start.args.includes('--discovery-endpoints') && cfg.discoveryEndpoint?.startsWith('https:')
      ? discoveryTlsArgs(ctx.tls.paths)
      : [];
  return startChild(binary, [...args, ...compactionArgs(cfg.autoCompactionRetention), ...start.args, ...discoveryTls], {
    env: etcdEnv(ctx.env, cfg.etcdEnv),
    log: ctx.log,
    spawn: ctx.spawn,
  });
}

/**
 * Promotes this member through the voters while its etcd starts, not once it is healthy: a learner's
 * etcd is healthy only after it has published itself through raft, and publishing can depend on the
 * promotion. etcd 3.6 refuses a proposal while committed > applied + 5000, and installing the leader's
 * snapshot raises the committed index to the snapshot's but leaves the applied index where it was (0
 * for an empty data dir) until the next entry is applied; when its first publish is lost around the
 * snapshot, every retry fails at once with "too many requests", for as long as the cluster commits
 * nothing (an idle cluster: for ever). The promotion is such an entry. Upstream: the same symptom is
 * etcd-io/etcd#16436 (open). Settles when this member is a voter; rejects when promoting fails or
 * `stopped` fires.
 */
function promoteWhileStarting(
  ctx: BootContext,
  start: Start & { memberId: string },
  watch: JoinWatchdog,
  stopped: AbortSignal,
): Promise<void> {
  return withEtcd(ctx, start.endpoints, (voters) => promoteSelf(ctx, voters, start.memberId, watch, stopped));
}

/** Waits until the started member is a healthy voter with its heartbeat written. */
export async function becomeReady(ctx: BootContext, child: Child, start: Start): Promise<void> {
  const { cfg, self, clock, log } = ctx;
  const watch = new JoinWatchdog(ctx);
  // A starting etcd accepts connections before it answers (a bootstrap waits for the discovery round):
  // each look is short, so readiness is seen soon after etcd has it; a look that runs out doubles the
  // next one's time (up to 2 s), so that a slow machine still gets its answer.
  let lookMs = 250;
  const publish = new PublishWatch(ctx, start, watch);
  const healthy = async () => {
    // a learner's client port answers only once it published itself
    const applied = start.plan === 'join' ? await watch.check() : undefined;
    const look = await publish.beforeLook(applied, lookMs);
    const t0 = performance.now();
    if (await etcdHealthy(ctx.fetch, self.healthUrl, look)) return true;
    if (look === lookMs && performance.now() - t0 >= lookMs) lookMs = Math.min(lookMs * 2, 2000);
    await publish.afterFailedLook(applied);
    return false;
  };
  const stop = new AbortController();
  void child.exited.then(() => stop.abort());
  const memberId = start.memberId;
  const early =
    memberId && start.endpoints.length
      ? ctx.phases.time('promote', () =>
          promoteWhileStarting(ctx, { ...start, memberId }, watch, AbortSignal.any([stop.signal, ctx.signal])),
        )
      : undefined;
  early?.then(
    () => {
      publish.promotedAt = clock.now();
    },
    () => undefined, // awaited below; failing first must not go unhandled
  );
  try {
    await ctx.phases.time('etcd-start', () =>
      waitUntil('etcd is healthy', healthy, child, clock, cfg.startTimeoutS * 1000, 100),
    );
  } catch (err) {
    stop.abort();
    await early?.catch(() => undefined);
    throw err;
  }
  const st = await withEtcd(ctx, [self.clientUrl], (etcd) =>
    retry('status of my etcd', () => etcd.status(self.clientUrl), { clock, log, attempts: 10 }),
  );
  ctx.member.id = st.memberId;
  ctx.member.clusterId = st.clusterId;
  const marker: Marker = { memberId: st.memberId, clusterId: st.clusterId, name: self.name, peerUrl: self.peerUrl };
  await ctx.files.write(markerPath(cfg.dataDir), `${JSON.stringify(marker)}\n`);
  const registry = ctx.registry;
  if (start.plan === 'bootstrap' && registry) {
    const first = await retry('record the cluster', () => registry.recordCluster(st.clusterId, new Date(clock.now())), {
      clock,
      log,
    }).catch((err) => void log.warn('cannot record the cluster in the registry', { err }));
    // one member records the new cluster first: it reports the bootstrap, once
    if (first)
      ctx.events.emit(
        'ClusterBootstrapped',
        `cluster ${st.clusterId} formed through discovery (recorded by ${self.name})`,
      );
  }
  if (early) await early;
  else if (start.endpoints.length)
    await ctx.phases.time('promote', () =>
      withEtcd(ctx, start.endpoints, (voters) => promoteSelf(ctx, voters, st.memberId, watch)),
    );
  await ctx.phases.time('heartbeat', () => ctx.heartbeat.ensure());
}
