// Starting this member's etcd from a plan and bringing it to ready: spawn, wait for health, learn
// its member and cluster IDs (written to the data dir's marker for the next restart), record a new
// cluster in the registry, promote a learner through the voters, write the first heartbeat.
import { DeisError, isReason } from '../errors.ts';
import { retry } from '../retry.ts';
import { etcdHealthy, startChild, waitUntil, type Child } from '../supervisor/supervisor.ts';
import { compactionArgs, discoveryTlsArgs, etcdEnv, memberArgs } from '../supervisor/etcd-args.ts';
import { prepare, type Start } from './act.ts';
import { abandonJoin, promoteSelf } from './changes.ts';
import { withEtcd, type BootContext } from './context.ts';
import { JoinWatchdog } from './watchdog.ts';
import { markerPath, type Marker } from './observe.ts';

/** How long etcd gets to stop after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 20_000;
const JOIN_ATTEMPTS = 3;
/**
 * How long a promoted member may go without publishing itself before its etcd is restarted (once).
 * A learner whose first publish was applied by the cluster inside the snapshot it received never
 * sees that entry applied locally and retries only after etcd's request timeout (7 s); a restarted
 * etcd publishes again at once. Upstream: the same family as etcd-io/etcd#16436 (open).
 */
const PUBLISH_GRACE_MS = 1500;
/**
 * Sooner when the voters' member list already shows this member published (its name and client URLs
 * set): the cluster has applied the publish, so a local etcd that is still not ready this long after
 * its promotion never saw it applied (a follower applies the same entries within milliseconds).
 */
const PUBLISHED_LAG_MS = 500;
/**
 * Sooner still, without waiting for the promotion: once the voters list this member as published
 * and its local etcd has applied as far as they had then (its metrics listener says so), an etcd
 * that still does not serve this long after never saw its publish applied; a publish applied as an
 * entry makes etcd serve within milliseconds. Once the cluster is past 5000 raft entries every joiner
 * gets a snapshot (etcd 3.6 compacts its raft log to 5000 entries behind an in-memory snapshot every
 * 100 entries), and the snapshot is usually cut after the learner's first publish was applied.
 */
const CAUGHT_UP_GRACE_MS = 300;
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

/**
 * Once the voters list this joining member as published: the highest index they have applied (the
 * publish is at or below it); undefined before, or when unsure.
 */
function publishedMark(ctx: BootContext, start: Start): Promise<number | undefined> {
  return withEtcd(ctx, start.endpoints, async (voters) => {
    const { members } = await voters.memberList();
    const me = members.find((m) => m.id === start.memberId);
    if (!me?.name || me.clientUrls.length === 0) return undefined;
    const urls = members
      .filter((m) => !m.isLearner && m.id !== start.memberId)
      .flatMap((m) => m.clientUrls.slice(0, 1));
    const applied = (await Promise.allSettled(urls.map((u) => voters.status(u)))).flatMap((r) =>
      r.status === 'fulfilled' ? [r.value.raftAppliedIndex] : [],
    );
    return applied.length ? Math.max(...applied) : undefined;
  }).catch(() => undefined);
}

/** Whether the voters list this joining member as published (name and client URLs set); false when unsure. */
function publishedInCluster(ctx: BootContext, start: Start): Promise<boolean> {
  return withEtcd(ctx, start.endpoints, async (voters) =>
    (await voters.memberList()).members.some((m) => m.id === start.memberId && !!m.name && m.clientUrls.length > 0),
  ).catch(() => false);
}

/** Waits until the started member is a healthy voter with its heartbeat written. */
export async function becomeReady(ctx: BootContext, child: Child, start: Start): Promise<void> {
  const { cfg, self, clock, log } = ctx;
  const watch = new JoinWatchdog(ctx);
  // A starting etcd accepts connections before it answers (a bootstrap waits for the discovery round):
  // each look is short, so readiness is seen soon after etcd has it; a look that runs out doubles the
  // next one's time (up to 2 s), so that a slow machine still gets its answer.
  let lookMs = 250;
  let promotedAt: number | undefined;
  let mark: number | undefined; // see publishedMark
  let caughtUpAt: number | undefined;
  /** The local etcd has applied past its own publish and still does not serve: its publish is lost. */
  const lostInSnapshot = async (): Promise<boolean> => {
    if (start.plan !== 'join' || start.memberId === undefined || !start.endpoints.length) return false;
    const local = await watch.applied();
    if (local === undefined || local <= 0) return false; // nothing received yet, or stalled
    mark ??= await publishedMark(ctx, start);
    if (mark === undefined || local < mark) return false;
    caughtUpAt ??= clock.now();
    return clock.now() - caughtUpAt >= CAUGHT_UP_GRACE_MS;
  };
  const healthy = async () => {
    if (start.plan === 'join') await watch.check(); // a learner's client port answers only once it published itself
    // before the look: a look that runs out doubles up to 2 s, and the grace is 300 ms (a look has
    // failed since caughtUpAt was set, or this would have returned)
    // (one more short look first: it may have turned ready since the last one)
    if ((await lostInSnapshot()) && !(await etcdHealthy(ctx.fetch, self.healthUrl, CAUGHT_UP_GRACE_MS)))
      throw new DeisError(
        'membership',
        `etcd has applied index ${mark} or later (past its own publish, which the voters list) and does not serve ` +
          `${CAUGHT_UP_GRACE_MS} ms later (its publish was applied inside the snapshot it received)`,
        { reason: 'publish-lost', retryable: true },
      );
    const look = caughtUpAt === undefined ? lookMs : Math.min(lookMs, CAUGHT_UP_GRACE_MS);
    const t0 = performance.now();
    const ok = await etcdHealthy(ctx.fetch, self.healthUrl, look);
    if (!ok && look === lookMs && performance.now() - t0 >= lookMs) lookMs = Math.min(lookMs * 2, 2000);
    const since = !ok && start.plan === 'join' && promotedAt !== undefined ? clock.now() - promotedAt : 0;
    const unpublished =
      since > PUBLISH_GRACE_MS ||
      (since > PUBLISHED_LAG_MS && start.memberId !== undefined && (await publishedInCluster(ctx, start)));
    // only an etcd that answers on its metrics listener (it runs and applies) lost its publish; one that
    // does not answer is stalled (paused, starved), which the join watchdog gives up on instead
    if (unpublished && (await watch.applied()) !== undefined)
      throw new DeisError(
        'membership',
        `etcd has not published itself ${Math.round(since)} ms after its promotion ` +
          '(its publish was applied inside the snapshot it received)',
        { reason: 'publish-lost', retryable: true },
      );
    return ok;
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
      promotedAt = clock.now();
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
