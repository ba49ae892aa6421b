// Carries a plan out: observe and decide until a plan starts etcd, with one handler per plan kind.
// Handlers return the next step (start etcd with these flags, or look again after a pause) so that
// each is table-tested with fakes; the loop owns the waiting budget and the "quiet" clock.
import { DeisError, isReason } from '../errors.ts';
import type { Plan } from '../membership/decide.ts';
import { retry } from '../retry.ts';
import { joinCluster, moveDataAside } from './changes.ts';
import { withEtcd, type BootContext } from './context.ts';
import { look, type Observed, type Quiet } from './observe.ts';
import { restoreSnapshot } from '../snapshot/restore.ts';

/** How etcd is to be started. */
export interface Start {
  plan: 'restart' | 'bootstrap' | 'join';
  args: string[];
  /** Client URLs of healthy voting members (learners refuse most RPCs, so a learner promotes through these). */
  endpoints: string[];
  /** My member ID when known before etcd starts (a join's add, a restart's marker): promotion starts with etcd. */
  memberId?: string | undefined;
}

export type Step = { kind: 'start'; start: Start } | { kind: 'again'; sleepMs: number };

/** The loop's memory across rounds. */
export interface Loop {
  round: number;
  /** Since when nothing has lived anywhere (no reachable member, no heartbeat). */
  quietSince: number | undefined;
  /** Since when this boot has been unable to proceed (waiting, or joins failing). */
  stuckSince: number | undefined;
}

type Handler<K extends Plan['kind']> = (
  ctx: BootContext,
  plan: Extract<Plan, { kind: K }>,
  seen: Observed,
  loop: Loop,
) => Promise<Step>;

export const quietOf = (ctx: BootContext, loop: Loop): Quiet => ({
  quietForMs: loop.quietSince === undefined ? 0 : ctx.clock.now() - loop.quietSince,
  rebuildGraceMs: ctx.cfg.rebuildGraceS * 1000,
});

/** Counts time stuck; past --wait-timeout, a clear error naming what it waited for. */
function stuck(ctx: BootContext, loop: Loop, reason: string, seen: Observed): void {
  loop.stuckSince ??= ctx.clock.now();
  if (ctx.clock.now() - loop.stuckSince <= ctx.cfg.waitTimeoutS * 1000) return;
  const hint = ctx.cfg.discoveryEndpoint
    ? ''
    : ' (no discovery endpoint: set DEIS_ETCD_DISCOVERY_SERVICE_HOST or --discovery-endpoint)';
  const code = seen.obs.discovery.reachable ? 'membership' : 'unreachable';
  throw new DeisError(code, `gave up after ${ctx.cfg.waitTimeoutS} s: ${reason}${hint}`);
}

const again = (sleepMs: number): Step => ({ kind: 'again', sleepMs });
/**
 * The pause before looking again while waiting or after a failed join: 250 ms, doubling each round
 * up to 2 s. Short, because what is waited for (a learner's promotion, a leader, the strict
 * reconfiguration window) usually ends within seconds; bounded, because each look costs a few calls.
 */
const backoff = (loop: Loop): Step => again(250 * 2 ** Math.min(loop.round, 3));

export const handlers: { [K in Plan['kind']]: Handler<K> } = {
  async wait(ctx, plan, seen, loop) {
    stuck(ctx, loop, plan.reason, seen);
    return backoff(loop);
  },
  async fail(_ctx, plan) {
    throw new DeisError('config', plan.reason);
  },
  async rejoin(ctx) {
    const aside = await moveDataAside(ctx, 'removed');
    ctx.log.warn('data moved aside: the cluster removed this member', { dataDir: ctx.cfg.dataDir, movedTo: aside });
    return again(0);
  },
  async rebuild(ctx, plan, _seen, loop) {
    const registry = ctx.registry;
    if (!registry) return again(0);
    await registry.withLock(async () => {
      if ((await look(ctx, quietOf(ctx, loop))).plan.kind !== 'rebuild') return;
      await registry.reset();
      ctx.metrics.change('registry-reset');
      ctx.log.warn('registry reset: rebuilding the cluster', { reason: plan.reason });
      ctx.events.emit(
        'ClusterRebuilt',
        `${ctx.self.name} reset the discovery registry for a new cluster: ${plan.reason}`,
      );
    });
    return again(0);
  },
  async restart(ctx, plan, seen) {
    const { memberId } = plan;
    if (plan.updatePeerUrl && memberId && seen.endpoints.length) {
      await withEtcd(ctx, seen.endpoints, (etcd) =>
        retry('update my peer URL', () => etcd.memberUpdate(memberId, [ctx.self.peerUrl]), ctx),
      );
      ctx.metrics.change('update');
      ctx.log.info('peer URL updated', { memberId, peerUrl: ctx.self.peerUrl });
    }
    await ctx.heartbeat.ensure();
    return { kind: 'start', start: { plan: 'restart', args: [], endpoints: seen.endpoints, memberId } };
  },
  async bootstrap(ctx, plan, _seen, loop) {
    const { registry, cfg } = ctx;
    if (!registry || !cfg.discoveryEndpoint) {
      throw new DeisError(
        'environment',
        'a new cluster must bootstrap but no discovery endpoint is configured: ' +
          'set DEIS_ETCD_DISCOVERY_SERVICE_HOST or --discovery-endpoint',
      );
    }
    for (const id of plan.dropRegistrations) {
      await registry.removeRegistration(id);
      ctx.log.warn('stale registration of mine dropped', { memberId: id });
    }
    if (cfg.restoreFrom) return bootstrapFromSnapshot(ctx, loop, cfg.restoreFrom);
    ctx.member.bootstrapping = true; // the heartbeat says so: the others do not probe an etcd that waits for them
    await ctx.heartbeat.ensure();
    const args = [
      '--discovery-token',
      registry.token,
      '--discovery-endpoints',
      cfg.discoveryEndpoint,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      clusterToken(cfg.name),
    ];
    return { kind: 'start', start: { plan: 'bootstrap', args, endpoints: [] } };
  },
  async join(ctx, _plan, seen, loop) {
    try {
      const joined = await joinCluster(ctx, seen, quietOf(ctx, loop));
      if (joined) return { kind: 'start', start: { plan: 'join', ...joined, endpoints: seen.endpoints } };
      return again(0);
    } catch (err) {
      if (!(err instanceof DeisError && err.retryable)) throw err;
      stuck(ctx, loop, `joining failed: ${err.message}`, seen);
      ctx.log.warn('join attempt failed; deciding again', { err });
      return backoff(loop);
    }
  },
};

/**
 * The bootstrap of a cluster with no members when a snapshot is configured: under the registry's
 * lock (so that one member restores), decide again; if it is still a bootstrap and no other member
 * has a heartbeat (the one that restored before us, whose etcd is still starting), restore the snapshot
 * into the data dir and start from it as a one-member cluster (etcd ignores the initial-cluster flags
 * once it has a WAL). The others then see its heartbeat and join it as learners.
 */
async function bootstrapFromSnapshot(ctx: BootContext, loop: Loop, from: string): Promise<Step> {
  const { cfg } = ctx;
  const restore = ctx.restore ?? restoreSnapshot;
  const done = await ctx
    .registry!.withLock(async () => {
      const { seen, plan } = await look(ctx, quietOf(ctx, loop));
      if (plan.kind !== 'bootstrap') return false;
      // another member's heartbeat: it restored under this lock before us and its etcd is not up yet
      // (the registry records no cluster for a restore); a second restore would be a second cluster
      const d = seen.obs.discovery;
      if (d.reachable && d.heartbeats.length) return false;
      const started = ctx.clock.now();
      const r = await restore(
        {
          from,
          dir: cfg.restoreDir,
          s3: cfg.restoreS3,
          env: ctx.env,
          prefix: cfg.restorePrefix,
          etcdutl: cfg.etcdutlBinary,
        },
        { name: ctx.self.name, peerUrl: ctx.self.peerUrl, dataDir: cfg.dataDir, clusterToken: clusterToken(cfg.name) },
      );
      ctx.log.warn('snapshot restored: this member starts alone, the others join it', {
        file: r.file,
        size: r.size,
        revision: r.status.revision,
        hash: r.status.hash,
        keys: r.status.totalKey,
        tookMs: ctx.clock.now() - started,
      });
      ctx.metrics.change('restore');
      await ctx.heartbeat.ensure();
      return true;
    }, 300)
    .catch((err) => {
      // another member holds the lock (it restores): look again, it will be alive or gone by then
      if (isReason(err, 'lock-failed')) return false;
      throw err;
    });
  if (!done) return again(1000);
  return { kind: 'start', start: { plan: 'restart', args: [], endpoints: [] } };
}

/** The --initial-cluster-token of a new cluster: the StatefulSet's name. */
const clusterToken = (name: string) => `deis-etcd-${name.replace(/-\d+$/, '')}`;

function run<K extends Plan['kind']>(
  ctx: BootContext,
  plan: Extract<Plan, { kind: K }>,
  seen: Observed,
  loop: Loop,
): Promise<Step> {
  return (handlers[plan.kind] as Handler<K>)(ctx, plan, seen, loop);
}

/** Observes and decides until a plan starts etcd; undefined when stopped first. */
export async function prepare(ctx: BootContext): Promise<Start | undefined> {
  const loop: Loop = { round: 0, quietSince: undefined, stuckSince: undefined };
  let last = '';
  let restoreIgnored = false;
  for (; !ctx.signal.aborted; loop.round++) {
    const { seen, plan } = await look(ctx, quietOf(ctx, loop));
    const o = seen.obs;
    const alive =
      o.cluster.reachable || o.cluster.anyAlive || (o.discovery.reachable && o.discovery.heartbeats.length > 0);
    loop.quietSince = alive ? undefined : (loop.quietSince ?? ctx.clock.now());
    const reason = 'reason' in plan ? plan.reason : undefined;
    if (ctx.cfg.restoreFrom && (plan.kind === 'restart' || plan.kind === 'join') && !restoreIgnored) {
      restoreIgnored = true;
      ctx.log.warn('restore ignored: the cluster already has data', {
        restoreFrom: ctx.cfg.restoreFrom,
        plan: plan.kind,
      });
    }
    if (`${plan.kind}:${reason}` !== last) {
      ctx.log.info('decided', { plan: plan.kind, reason, removals: plan.kind === 'join' ? plan.removals : undefined });
      last = `${plan.kind}:${reason}`;
    }
    for (const k of Object.keys(handlers))
      ctx.metrics.set('deis_etcd_last_decision', k === plan.kind ? 1 : 0, { plan: k });
    if (plan.kind !== 'wait' && plan.kind !== 'join') loop.stuckSince = undefined;
    // a pod without data says so while it waits: a quorum recovery counts its old member as gone for good
    if (plan.kind === 'wait' && !o.data.hasWal) await ctx.noData.ensure();
    const step = await run(ctx, plan, seen, loop);
    if (step.kind === 'start') {
      await ctx.noData.stop();
      return step.start;
    }
    if (step.sleepMs) await ctx.phases.time('wait', () => ctx.clock.sleep(step.sleepMs, ctx.signal));
  }
  return undefined;
}
