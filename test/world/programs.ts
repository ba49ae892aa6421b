// Our own programs as real processes: the discovery service and boot members, run from source by
// Node 24 (the same code the bundles and executables carry).
import { join } from 'node:path';
import { etcdTool } from './tools.ts';
import { freeAddress } from './net.ts';
import { GiveUp, startProcess, tempDir, waitFor, type TestProcess } from './procs.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const nodeBin = join(repoRoot, 'node_modules/.bin/node');

/** Env for a program: PATH and HOME only, plus what the test gives (no stray DEIS_ETCD_* or ETCD_*). */
export function programEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runProgramProcess(
  program: 'boot' | 'discovery' | 'snapshot',
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
): TestProcess {
  return startProcess(name, nodeBin, [join(repoRoot, 'cmd', program, 'main.ts'), ...args], {
    env,
    logDir,
    group: true,
  });
}

/** Runs a program to its exit (killed after limitMs): its exit code, its error log lines, its log. */
export async function runToExit(
  program: 'boot' | 'discovery' | 'snapshot',
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
  limitMs = 30_000,
): Promise<{ code: number; errors: string[]; log: string }> {
  const p = runProgramProcess(program, name, args, env, logDir);
  const code = await Promise.race([p.exited, new Promise<number>((r) => setTimeout(() => r(-1), limitMs))]);
  if (code === -1) p.kill();
  const log = p.log();
  return {
    code,
    log,
    errors: log
      .trim()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
  };
}

export interface DiscoveryProcess {
  host: string;
  endpoint: string;
  httpUrl: string;
  dataDir: string;
  token: string;
  proc: TestProcess;
}

/** Starts the discovery program on its own loopback address and waits until /readyz says ready. */
export async function startDiscovery(
  opts: {
    size?: number;
    token?: string;
    logDir?: string;
    dataDir?: string;
    host?: string;
    extraEnv?: Record<string, string>;
  } = {},
): Promise<DiscoveryProcess> {
  const host = opts.host ?? (await freeAddress([2381, 2382, 8081]));
  const logDir = opts.logDir ?? tempDir();
  const dataDir = opts.dataDir ?? join(tempDir(), 'discovery');
  const token = opts.token ?? `t${Math.random().toString(16).slice(2)}`;
  const env = programEnv({
    POD_IP: host,
    DEIS_ETCD_CLUSTER_SIZE: String(opts.size ?? 3),
    DEIS_ETCD_DISCOVERY_TOKEN: token,
    DEIS_ETCD_DATA_DIR: dataDir,
    DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
    DEIS_ETCD_LOG_LEVEL: 'info',
    ...opts.extraEnv,
  });
  const proc = runProgramProcess('discovery', `discovery-${host}`, [], env, logDir);
  const httpUrl = `http://${host}:8081`;
  await waitFor(
    'discovery ready',
    async () => {
      if (!proc.running()) throw new GiveUp(`discovery exited: ${proc.log().slice(-3000)}`);
      try {
        return (await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    },
    60_000,
  );
  return { host, endpoint: `http://${host}:2381`, httpUrl, dataDir, token, proc };
}

export interface BootProcess {
  name: string;
  host: string;
  clientUrl: string;
  peerUrl: string;
  httpUrl: string;
  dataDir: string;
  proc: TestProcess;
}

/** Starts boot for member `name` on its own loopback address (or `host`), without Kubernetes by default. */
export async function startBoot(opts: {
  name: string;
  discovery?: DiscoveryProcess;
  host?: string;
  dataDir?: string;
  logDir: string;
  size?: number;
  env?: Record<string, string | undefined>;
  launcher?: string[];
}): Promise<BootProcess> {
  const host = opts.host ?? (await freeAddress([2379, 2380, 8080]));
  const dataDir = opts.dataDir ?? join(tempDir(), 'data');
  const env = programEnv({
    POD_NAME: opts.name,
    POD_IP: host,
    DEIS_ETCD_CLUSTER_SIZE: String(opts.size ?? 3),
    DEIS_ETCD_DISCOVERY_ENDPOINT: opts.discovery?.endpoint,
    DEIS_ETCD_DISCOVERY_TOKEN: opts.discovery?.token,
    DEIS_ETCD_DATA_DIR: dataDir,
    DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
    DEIS_ETCD_KUBERNETES: 'off',
    DEIS_ETCD_REBUILD_GRACE: '5',
    ...opts.env,
  });
  const proc = opts.launcher
    ? startProcess(`${opts.name}-${host}`, opts.launcher[0]!, opts.launcher.slice(1), {
        env,
        logDir: opts.logDir,
        group: true,
      })
    : runProgramProcess('boot', `${opts.name}-${host}`, [], env, opts.logDir);
  return {
    name: opts.name,
    host,
    clientUrl: `http://${host}:2379`,
    peerUrl: `http://${host}:2380`,
    httpUrl: `http://${host}:8080`,
    dataDir,
    proc,
  };
}

/**
 * Kills boot and its etcd with -9 and starts the replacement: the same name, an empty data dir, a new
 * loopback address. `killedAt` is when the victim had exited (performance.now()).
 */
export async function replaceBoot(
  victim: BootProcess,
  opts: Omit<Parameters<typeof startBoot>[0], 'name' | 'host' | 'dataDir'>,
): Promise<{ boot: BootProcess; killedAt: number }> {
  victim.proc.kill('SIGKILL');
  await victim.proc.exited;
  const killedAt = performance.now();
  return { boot: await startBoot({ ...opts, name: victim.name }), killedAt };
}

/** Waits until boot's /readyz answers 200 (its etcd is a healthy voting member). */
export async function waitReady(b: BootProcess, timeoutMs = 90_000, intervalMs = 250): Promise<void> {
  await waitFor(
    `${b.name} ready`,
    async () => {
      if (!b.proc.running()) throw new GiveUp(`${b.name} exited: ${b.proc.log().slice(-4000)}`);
      try {
        return (await fetch(`${b.httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    },
    timeoutMs,
    intervalMs,
  );
}
