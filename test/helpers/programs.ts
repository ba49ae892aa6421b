// Our own programs as real processes: the discovery service and boot members, run from source by
// Node 24 (the same code the bundles and executables carry).
import { join } from 'node:path';
import { etcdTool } from './tools.ts';
import { freeAddress } from './net.ts';
import { startProcess, tempDir, waitFor, type TestProcess } from './procs.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const nodeBin = join(repoRoot, 'node_modules/.bin/node');

/** Env for a program: PATH and HOME only, plus what the test gives (no stray DEIS_ETCD_* or ETCD_*). */
export function programEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runProgramProcess(program: 'boot' | 'discovery', name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): TestProcess {
  return startProcess(name, nodeBin, [join(repoRoot, 'cmd', program, 'main.ts'), ...args], { env, logDir });
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
export async function startDiscovery(opts: { size?: number; token?: string; logDir?: string; dataDir?: string; host?: string; extraEnv?: Record<string, string> } = {}): Promise<DiscoveryProcess> {
  const host = opts.host ?? (await freeAddress([2381, 2382, 8081]));
  const logDir = opts.logDir ?? tempDir();
  const dataDir = opts.dataDir ?? join(tempDir(), 'discovery');
  const token = opts.token ?? `t${Math.random().toString(16).slice(2)}`;
  const env = programEnv({
    POD_IP: host,
    DEIS_ETCD_CLUSTER_SIZE: String(opts.size ?? 3),
    DEIS_ETCD_DISCOVERY_TOKEN: token,
    DEIS_ETCD_DATA_DIR: dataDir,
    DEIS_ETCD_BINARY: etcdTool('etcd'),
    DEIS_ETCD_LOG_LEVEL: 'info',
    ...opts.extraEnv,
  });
  const proc = runProgramProcess('discovery', `discovery-${host}`, [], env, logDir);
  const httpUrl = `http://${host}:8081`;
  await waitFor('discovery ready', async () => {
    if (!proc.running()) throw new Error(`discovery exited: ${proc.log().slice(-3000)}`);
    try { return (await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) })).ok; } catch { return false; }
  }, 60_000);
  return { host, endpoint: `http://${host}:2381`, httpUrl, dataDir, token, proc };
}
