// `make up` / `make cluster-up` / `make down`: starts the test world (build/local/world-daemon.ts) in the
// background and waits for it; with `up`, also for discovery and three members to be Ready.
// Usage: node build/local/world.ts up|cluster-up|down
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdTool, kubeTool } from '../../test/world/tools.ts';

const root = new URL('../..', import.meta.url).pathname;
const local = join(root, '.local');
const pidFile = join(local, 'world.pid');
const stateFile = join(local, 'world', 'state');
const kubeconfig = join(local, 'kubeconfig');
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0);
const kubectl = (args: string[]) =>
  execFileSync(kubeTool('kubectl'), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });

async function up(product: boolean): Promise<void> {
  if (pid() && running(pid())) throw new Error('the local world is already running: make down first');
  mkdirSync(local, { recursive: true });
  const log = openSync(join(local, 'world.log'), 'w');
  const image = process.env.IMAGE || undefined;
  const daemon = [
    join(root, 'build/local/world-daemon.ts'),
    ...(product ? ['--product'] : []),
    ...(image ? ['--image', image] : []),
  ];
  const child = spawn(join(root, 'node_modules/.bin/node'), daemon, { stdio: ['ignore', log, log], detached: true });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + 120_000;
  while (!(existsSync(stateFile) && readFileSync(stateFile, 'utf8').trim() === 'ready')) {
    if (!running(child.pid!)) throw new Error(`the world exited; see ${join(local, 'world.log')}`);
    if (Date.now() > deadline) throw new Error(`the world is not up after 120 s; see ${join(local, 'world.log')}`);
    await sleep(250);
  }
  if (product) {
    const until = Date.now() + 240_000;
    for (;;) {
      const out = kubectl([
        'get',
        'pods',
        '-n',
        'deis-etcd',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
      ]);
      const ready = out.split(' ').filter((s) => s.endsWith('=True'));
      if (ready.length >= 4) break;
      if (Date.now() > until)
        throw new Error(`discovery and 3 members not Ready after 240 s: ${out}; see kubectl get pods -n deis-etcd`);
      await sleep(1000);
    }
  }
  // with TLS (OVERLAY=local-secure): the client Secret's files under .local/tls for etcdctl
  const tls = product ? clientTls() : '';
  const ips = product
    ? kubectl([
        'get',
        'pods',
        '-n',
        'deis-etcd',
        '-l',
        'app.kubernetes.io/component=member',
        '-o',
        `jsonpath={range .items[*]}${tls ? 'https' : 'http'}://{.status.podIP}:2379,{end}`,
      ]).replace(/,$/, '')
    : '';
  console.log(`The local Kubernetes world is up${product ? ' with deis-etcd (discovery + 3 members) in namespace deis-etcd' : ''}.

  export KUBECONFIG=${kubeconfig}
  ${kubeTool('kubectl')} get pods -n deis-etcd -o wide${
    product
      ? `
  ${etcdTool('etcdctl')} --endpoints=${ips}${tls} member list -w table
  ${etcdTool('etcdctl')} --endpoints=${ips}${tls} put hello world`
      : ''
  }

  It keeps running in the background (log: .local/world.log); make down stops everything.`);
}

/** etcdctl's TLS (and root user) flags for the Secrets written under .local/tls; '' without TLS (no such Secret). */
function clientTls(): string {
  let data: Record<string, string>;
  try {
    data = JSON.parse(
      kubectl([
        'get',
        'secret',
        'deis-etcd-client-tls',
        '-n',
        'deis-etcd',
        '--ignore-not-found',
        '-o',
        'jsonpath={.data}',
      ]),
    ) as Record<string, string>;
  } catch {
    return '';
  }
  const dir = join(local, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { 'ca.crt': 'ca.crt', 'tls.crt': 'client.crt', 'tls.key': 'client.key' } as const;
  for (const [key, name] of Object.entries(files)) {
    writeFileSync(join(dir, name), Buffer.from(data[key] ?? '', 'base64'), { mode: 0o600 });
  }
  const flags = ` --cacert=${join(dir, 'ca.crt')} --cert=${join(dir, 'client.crt')} --key=${join(dir, 'client.key')}`;
  // with the auth component: root's password next to them (etcdctl reads it through the shell)
  const root = kubectl([
    'get',
    'secret',
    'deis-etcd-root',
    '-n',
    'deis-etcd',
    '--ignore-not-found',
    '-o',
    'jsonpath={.data.password}',
  ]);
  if (!root) return flags;
  writeFileSync(join(dir, 'root-password'), Buffer.from(root, 'base64'), { mode: 0o600 });
  return `${flags} --user="root:$(cat ${join(dir, 'root-password')})"`;
}

async function down(): Promise<void> {
  const p = pid();
  if (!p || !running(p)) {
    console.log('the local world is not running');
    rmSync(pidFile, { force: true });
    return;
  }
  process.kill(p, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (running(p) && Date.now() < deadline) await sleep(250);
  if (running(p)) {
    try {
      process.kill(-p, 'SIGKILL');
    } catch {
      process.kill(p, 'SIGKILL');
    }
  }
  rmSync(pidFile, { force: true });
  console.log('the local world is stopped');
}

const cmd = process.argv[2];
try {
  if (cmd === 'up') await up(true);
  else if (cmd === 'cluster-up') await up(false);
  else if (cmd === 'down') await down();
  else {
    console.error('usage: node build/local/world.ts up|cluster-up|down');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}
