// `make up` / `make down` without Kubernetes: runs the discovery service and three boot members as
// background processes on their own loopback addresses (127.0.10.x), exactly as pods would run them,
// with state (token, data, logs, pids) under .local/direct/. Usage: node build/local/cluster.ts up|down|status
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { etcdTool } from '../../test/world/tools.ts';

const root = new URL('../..', import.meta.url).pathname;
const state = join(root, '.local', 'direct');
const node = join(root, 'node_modules/.bin/node');
const size = Number(process.env.DEIS_ETCD_CLUSTER_SIZE ?? 3);
const discoveryHost = '127.0.10.1';
const memberHost = (i: number) => `127.0.10.${11 + i}`;

interface Proc {
  name: string;
  pid: number;
  http: string;
}

function pidsFile(): string {
  return join(state, 'pids.json');
}
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function start(name: string, program: 'boot' | 'discovery', env: Record<string, string>, http: string): Proc {
  const log = openSync(join(state, `${name}.log`), 'a');
  const child = spawn(node, [join(root, 'cmd', program, 'main.ts')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  child.unref();
  return { name, pid: child.pid!, http };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function waitAll(procs: Proc[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const p of procs) {
    while (!(await ready(p.http))) {
      if (!running(p.pid)) throw new Error(`${p.name} exited; see ${join(state, `${p.name}.log`)}`);
      if (Date.now() > deadline)
        throw new Error(`${p.name} not ready after ${timeoutMs / 1000} s; see ${join(state, `${p.name}.log`)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function up(): Promise<void> {
  if (existsSync(pidsFile()) && (JSON.parse(readFileSync(pidsFile(), 'utf8')) as Proc[]).some((p) => running(p.pid))) {
    console.log('already up (make down first); status:');
    await status();
    return;
  }
  mkdirSync(state, { recursive: true });
  const tokenFile = join(state, 'token');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  const etcd = etcdTool('etcd');
  const common = {
    DEIS_ETCD_TOKEN_FILE: tokenFile,
    DEIS_ETCD_ETCD_BINARY: etcd,
    DEIS_ETCD_CLUSTER_SIZE: String(size),
    DEIS_ETCD_LOG_FORMAT: 'text',
  };
  const procs: Proc[] = [
    start(
      'discovery',
      'discovery',
      { ...common, POD_IP: discoveryHost, DEIS_ETCD_DATA_DIR: join(state, 'discovery') },
      `http://${discoveryHost}:8081`,
    ),
  ];
  writeFileSync(pidsFile(), JSON.stringify(procs));
  await waitAll(procs, 60_000);
  for (let i = 0; i < size; i++) {
    procs.push(
      start(
        `deis-etcd-${i}`,
        'boot',
        {
          ...common,
          POD_NAME: `deis-etcd-${i}`,
          POD_IP: memberHost(i),
          DEIS_ETCD_KUBERNETES: 'off',
          DEIS_ETCD_DISCOVERY_ENDPOINT: `http://${discoveryHost}:2381`,
          DEIS_ETCD_DATA_DIR: join(state, `deis-etcd-${i}`),
        },
        `http://${memberHost(i)}:8080`,
      ),
    );
    writeFileSync(pidsFile(), JSON.stringify(procs));
  }
  await waitAll(procs, 120_000);
  const endpoints = Array.from({ length: size }, (_, i) => `http://${memberHost(i)}:2379`).join(',');
  console.log(`deis-etcd is up: discovery at http://${discoveryHost}:2381 and ${size} members.

  etcdctl (from the tool cache):
    ${etcdTool('etcdctl')} --endpoints=${endpoints} member list -w table
    ${etcdTool('etcdctl')} --endpoints=${endpoints} put hello world
  health and metrics: curl http://${memberHost(0)}:8080/readyz, curl http://${memberHost(0)}:8080/metrics
  logs: ${state}/*.log        stop: make down`);
}

async function down(): Promise<void> {
  if (!existsSync(pidsFile())) {
    console.log('nothing is running');
    return;
  }
  const procs = JSON.parse(readFileSync(pidsFile(), 'utf8')) as Proc[];
  for (const p of [...procs].reverse()) {
    if (!running(p.pid)) continue;
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + 30_000;
  while (procs.some((p) => running(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const p of procs)
    if (running(p.pid)) {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  rmSync(state, { recursive: true, force: true });
  console.log('stopped and removed .local/direct');
}

async function status(): Promise<void> {
  const procs = existsSync(pidsFile()) ? (JSON.parse(readFileSync(pidsFile(), 'utf8')) as Proc[]) : [];
  for (const p of procs)
    console.log(
      `${p.name.padEnd(14)} pid ${String(p.pid).padEnd(8)} ${running(p.pid) ? ((await ready(p.http)) ? 'ready' : 'running, not ready') : 'gone'}`,
    );
}

const cmd = process.argv[2];
try {
  if (cmd === 'up') await up();
  else if (cmd === 'down') await down();
  else if (cmd === 'status') await status();
  else {
    console.error('usage: node build/local/cluster.ts up|down|status');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}
