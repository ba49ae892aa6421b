// The boot program: find out who this member is, observe and decide until a plan starts etcd
// (act.ts), bring the member to ready (member.ts), then supervise it: heartbeats and the leader's heal
// pass (heal.ts) until etcd exits or a stop signal comes, and leave cleanly (changes.ts).
import { DeisError } from '../errors.ts';
import { startHttpServer } from '../server/server.ts';
import { etcdHealthy, exitNumber, resolveBinary, type Child, type ExitStatus } from '../supervisor/supervisor.ts';
import { prepare } from './act.ts';
import { leave } from './changes.ts';
import { createContext, type BootDeps } from './context.ts';
import { startHealer } from './heal.ts';
import { becomeReady, spawnEtcd } from './member.ts';
import { isScaledAway } from './observe.ts';

export type { BootDeps } from './context.ts';

const STOP_GRACE_MS = 20_000;

export async function runBoot(d: BootDeps): Promise<number> {
  const ctx = await createContext(d);
  const { cfg, self, log } = ctx;
  await d.files.ensureWritableDir(cfg.dataDir, '--data-dir');
  const binary = resolveBinary(cfg.etcdBinary, d.env);
  let child: Child | undefined;
  let ready = false;
  const server = await startHttpServer(cfg.listenHost ?? self.host, cfg.httpPort, {
    healthz: () => !child || child.running(),
    readyz: () => ready && !!child?.running(),
    metrics: async () => {
      ctx.metrics.set('deis_etcd_up', (await etcdHealthy(d.fetch, self.clientUrl)) ? 1 : 0);
      return ctx.metrics.render();
    },
  });
  try {
    const start = await prepare(ctx);
    if (!start) return 0;
    child = spawnEtcd(ctx, binary, start);
    await becomeReady(ctx, child, start);
    ready = true;
    log.info('member ready', { memberId: ctx.member.id, clusterId: ctx.member.clusterId, plan: start.plan });
    const healer = startHealer(ctx);
    const exited = await untilStopped(child, d.signal);
    await healer.stop();
    ready = false;
    if (exited && !(await isScaledAway(ctx))) {
      throw new DeisError('etcd-exited', `etcd exited with ${exited.signal ?? `code ${exited.code}`}`, { exitStatus: exitNumber(exited) });
    }
    if (exited) {
      log.info('removed by a scale-down; waiting for the pod to be deleted', { exitCode: exitNumber(exited) });
      await untilStopped(undefined, d.signal);
      return 0;
    }
    await leave(ctx, () => !!child?.running());
    await ctx.heartbeat.stop();
    log.info('stopped', { exitCode: exitNumber(await child.stop(STOP_GRACE_MS)) });
    return 0;
  } catch (err) {
    if (d.signal.aborted && !(err instanceof DeisError && err.code === 'forbidden')) {
      log.info('stopped before ready', {});
      return 0;
    }
    throw err;
  } finally {
    await ctx.heartbeat.stop();
    if (child?.running()) await child.stop(STOP_GRACE_MS);
    ctx.registry?.close();
    server.close();
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
