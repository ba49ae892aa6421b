// Real etcd processes for integration tests: single members and whole clusters on loopback
// addresses of their own (standard ports 2379/2380), temp data dirs, wait-for-health, teardown.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { etcdTool, type EtcdMinor, testEtcdMinor } from './tools.ts';
import { freeAddress } from './net.ts';
import { GiveUp, startProcess, tempDir, waitFor, type TestProcess } from './procs.ts';

export interface EtcdMember {
  readonly name: string;
  readonly host: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  proc: TestProcess;
}

export interface EtcdOptions {
  name: string;
  host?: string;
  dataDir?: string;
  minor?: EtcdMinor;
  /** Flags after the listen/advertise/data-dir ones, e.g. ['--initial-cluster', ...]. */
  args?: string[];
  logDir?: string;
  clientPort?: number;
}

/** GET /health of a client URL: true when the member is healthy (it has a leader). */
export async function isHealthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** Starts one etcd process; does not wait for health (a bootstrapping member needs its peers). */
export async function startEtcd(opts: EtcdOptions): Promise<EtcdMember> {
  const clientPort = opts.clientPort ?? 2379;
  const host = opts.host ?? (await freeAddress([clientPort, 2380]));
  const logDir = opts.logDir ?? tempDir();
  const dataDir = opts.dataDir ?? join(tempDir(), 'data');
  mkdirSync(logDir, { recursive: true });
  const clientUrl = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:2380`;
  const args = [
    '--name',
    opts.name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--log-level',
    'warn',
    ...(opts.args ?? []),
  ];
  const proc = startProcess(opts.name, etcdTool('etcd', opts.minor ?? testEtcdMinor()), args, { logDir });
  return { name: opts.name, host, clientUrl, peerUrl, dataDir, proc };
}

export async function waitHealthy(member: EtcdMember, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${member.name} healthy at ${member.clientUrl}`,
    async () => {
      if (!member.proc.running()) throw new GiveUp(`${member.name} exited: ${member.proc.log().slice(-2000)}`);
      return isHealthy(member.clientUrl);
    },
    timeoutMs,
  );
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  readonly endpoints: string[];
  client(): Etcd3;
  stop(): Promise<void>;
}

/** A static cluster of `size` members (--initial-cluster), all healthy when this resolves. */
export async function startEtcdCluster(
  opts: { size?: number; minor?: EtcdMinor; token?: string } = {},
): Promise<EtcdCluster> {
  const size = opts.size ?? 3;
  const logDir = tempDir();
  const names = Array.from({ length: size }, (_, i) => `etcd-${i}`);
  const hosts: string[] = [];
  for (let i = 0; i < size; i++) hosts.push(await freeAddress());
  const initialCluster = names.map((n, i) => `${n}=http://${hosts[i]}:2380`).join(',');
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push(
      await startEtcd({
        name: names[i]!,
        host: hosts[i]!,
        logDir,
        minor: opts.minor,
        args: [
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          opts.token ?? `test-${process.pid}`,
        ],
      }),
    );
  }
  return clusterOf(members);
}

/** Wraps started members: waits for their health and offers a client and teardown. */
export async function clusterOf(members: EtcdMember[], timeoutMs = 30_000): Promise<EtcdCluster> {
  const clients: Etcd3[] = [];
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    client() {
      const c = new Etcd3({ hosts: members.map((m) => m.clientUrl), dialTimeout: 2000 });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await Promise.all(members.map((m) => m.proc.stop()));
    },
  };
  try {
    await Promise.all(members.map((m) => waitHealthy(m, timeoutMs)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
