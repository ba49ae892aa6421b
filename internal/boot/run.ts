// The boot program: find out who this member is, observe and decide until a plan starts etcd
// (act.ts), bring the member to ready (member.ts), then supervise it: heartbeats and the leader's heal
// pass (heal.ts) until etcd exits or a stop signal comes, and leave cleanly (changes.ts).
import { DeisError } from '../errors.ts';
import { startHttpServer } from '../server/server.ts';
import { etcdHealthy, exitNumber, resolveBinary, type Child, type ExitStatus } from '../supervisor/supervisor.ts';
import { leave } from './changes.ts';
import { createContext, type BootContext, type BootDeps } from './context.ts';
import { startHealer } from './heal.ts';
import { startMember, STOP_GRACE_MS } from './member.ts';
import { isScaledAway } from './observe.ts';
import { forceNewCluster } from './recover.ts';

export type { BootDeps } from './context.ts';

export async function runBoot(d: BootDeps): Promise<number> {
  const ctx = await createContext(d);
  const { cfg, self, log } = ctx;
  await d.files.ensureWritableDir(cfg.dataDir, '--data-dir');
  const binary = resolveBinary(cfg.etcdBinary, d.env);
  const etcd: { child?: Child; ready: boolean } = { ready: false };
  const renewing = new AbortController();
  const renewal = ctx.tls?.run(AbortSignal.any([renewing.signal, d.signal]));
  const onChild = (c: Child) => {
    etcd.child = c;
  };
  const server = await startHttpServer(cfg.listenHost ?? self.host, cfg.httpPort, {
    healthz: () => !etcd.child || etcd.child.running(),
    readyz: () => etcd.ready && !!etcd.child?.running(),
    metrics: async () => {
      ctx.metrics.set('deis_etcd_up', (await etcdHealthy(d.fetch, self.healthUrl)) ? 1 : 0);
      return ctx.metrics.render();
    },
  });
  try {
    const started = await startMember(ctx, binary, onChild);
    if (!started) return 0;
    etcd.ready = true;
    const phases = ctx.phases.summary();
    ctx.metrics.phases(phases);
    log.info('member ready', {
      memberId: ctx.member.id,
      clusterId: ctx.member.clusterId,
      plan: started.start.plan,
      phases,
    });
    const exited = await supervise(ctx, binary, started.child, onChild);
    etcd.ready = false;
    if (exited) return await afterExit(ctx, exited);
    await leave(ctx, () => !!etcd.child?.running());
    await ctx.heartbeat.stop();
    log.info('stopped', { exitCode: exitNumber(await (etcd.child ?? started.child).stop(STOP_GRACE_MS)) });
    return 0;
  } catch (err) {
    if (d.signal.aborted && !(err instanceof DeisError && err.code === 'forbidden')) {
      log.info('stopped before ready', {});
      return 0;
    }
    throw err;
  } finally {
    renewing.abort();
    await renewal;
    await ctx.noData.stop();
    await ctx.heartbeat.stop();
    if (etcd.child?.running()) await etcd.child.stop(STOP_GRACE_MS);
    await ctx.events.flushBounded();
    ctx.registry?.close();
    ctx.local.client?.close();
    server.close();
  }
}

/** etcd exited by itself: removed by a scale-down (wait for the pod's deletion), else an error. */
async function afterExit(ctx: BootContext, exited: ExitStatus): Promise<number> {
  if (!(await isScaledAway(ctx))) {
    throw new DeisError('etcd-exited', `etcd exited with ${exited.signal ?? `code ${exited.code}`}`, {
      exitStatus: exitNumber(exited),
    });
  }
  ctx.log.info('removed by a scale-down; waiting for the pod to be deleted', { exitCode: exitNumber(exited) });
  await untilStopped(undefined, ctx.signal);
  return 0;
}

/**
 * Runs the healer beside etcd until etcd exits (its status) or a stop signal comes (undefined). A
 * quorum recovery replaces the child (`onChild` sees the new one); a member dropped by a recovery
 * elsewhere ends boot with an error, so that its restart rejoins.
 */
async function supervise(
  ctx: BootContext,
  binary: string,
  first: Child,
  onChild: (c: Child) => void,
): Promise<ExitStatus | undefined> {
  for (let child = first; ; ) {
    const healer = startHealer(ctx);
    const next = await Promise.race([
      untilStopped(child, ctx.signal).then((exited) => ({ kind: 'stopped' as const, exited })),
      healer.needs,
    ]);
    await healer.stop();
    if (next.kind === 'stopped') return next.exited;
    if (next.kind === 'dropped') {
      throw new DeisError(
        'membership',
        `a quorum recovery on ${next.by} dropped this member: restarting to rejoin as a learner`,
      );
    }
    child = await forceNewCluster(ctx, binary, child, next);
    onChild(child);
  }
}

/** Resolves with etcd's exit status if it exits first, undefined on a stop signal. */
function untilStopped(child: Child | undefined, signal: AbortSignal): Promise<ExitStatus | undefined> {
  return Promise.race([
    child?.exited ?? new Promise<never>(() => undefined),
    new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      signal.addEventListener('abort', () => resolve(undefined), { once: true });
    }),
  ]);
}
