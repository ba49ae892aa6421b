// Starting this member's etcd from a plan and bringing it to ready: spawn, wait for health, learn
// its member and cluster IDs (written to the data dir's marker for the next restart), record a new
// cluster in the registry, promote a learner through the voters, write the first heartbeat.
import { retry } from '../retry.ts';
import { etcdHealthy, startChild, waitUntil, type Child } from '../supervisor/supervisor.ts';
import { etcdEnv, memberArgs } from '../supervisor/etcd-args.ts';
import type { Start } from './act.ts';
import { promoteSelf } from './changes.ts';
import { withEtcd, type BootContext } from './context.ts';
import { markerPath, type Marker } from './observe.ts';

/** Spawns etcd; `onChild` sees the child at once (for /healthz) before it is healthy. */
export function spawnEtcd(ctx: BootContext, binary: string, start: Start): Child {
  const { cfg, self } = ctx;
  const args = memberArgs({
    name: self.name, dataDir: cfg.dataDir, listenHost: cfg.listenHost ?? self.host,
    clientPort: cfg.clientPort, peerPort: cfg.peerPort, clientUrl: self.clientUrl, peerUrl: self.peerUrl,
  });
  return startChild(binary, [...args, ...start.args], { env: etcdEnv(ctx.env, cfg.etcdEnv), log: ctx.log, spawn: ctx.spawn });
}

/**
 * Promotes this member through the voters while its etcd starts, not once it is healthy: a learner's
 * etcd is healthy only after it has published itself through raft, and publishing can depend on the
 * promotion. etcd 3.6 refuses a proposal while committed > applied + 5000, and installing the leader's
 * snapshot raises the committed index to the snapshot's but leaves the applied index where it was (0
 * for an empty data dir) until the next entry is applied; when its first publish is lost around the
 * snapshot, every retry fails at once with "too many requests", for as long as the cluster commits
 * nothing (an idle cluster: for ever). The promotion is such an entry. Settles when this member is a
 * voter; rejects when promoting fails or `stopped` fires.
 */
function promoteWhileStarting(ctx: BootContext, start: Start & { memberId: string }, stopped: AbortSignal): Promise<void> {
  return withEtcd(ctx, start.endpoints, (voters) => promoteSelf(ctx, voters, start.memberId, stopped));
}

/** Waits until the started member is a healthy voter with its heartbeat written. */
export async function becomeReady(ctx: BootContext, child: Child, start: Start): Promise<void> {
  const { cfg, self, clock, log } = ctx;
  const stop = new AbortController();
  void child.exited.then(() => stop.abort());
  const early = start.memberId && start.endpoints.length
    ? promoteWhileStarting(ctx, { ...start, memberId: start.memberId }, AbortSignal.any([stop.signal, ctx.signal]))
    : undefined;
  early?.catch(() => undefined); // awaited below; failing first must not go unhandled
  try {
    await waitUntil('etcd is healthy', () => etcdHealthy(ctx.fetch, self.clientUrl), child, clock, cfg.startTimeoutS * 1000);
  } catch (err) {
    stop.abort();
    await early?.catch(() => undefined);
    throw err;
  }
  const st = await withEtcd(ctx, [self.clientUrl], (etcd) => retry('status of my etcd', () => etcd.status(self.clientUrl), { clock, log, attempts: 10 }));
  ctx.member.id = st.memberId;
  ctx.member.clusterId = st.clusterId;
  const marker: Marker = { memberId: st.memberId, clusterId: st.clusterId, name: self.name, peerUrl: self.peerUrl };
  await ctx.files.write(markerPath(cfg.dataDir), JSON.stringify(marker) + '\n');
  const registry = ctx.registry;
  if (start.plan === 'bootstrap' && registry) {
    await retry('record the cluster', () => registry.recordCluster(st.clusterId, new Date(clock.now())), { clock, log })
      .catch((err) => log.warn('cannot record the cluster in the registry', { err }));
  }
  if (early) await early;
  else if (start.endpoints.length) await withEtcd(ctx, start.endpoints, (voters) => promoteSelf(ctx, voters, st.memberId));
  await ctx.heartbeat.ensure();
}
