// Where the pinned test-world binaries live (built by `make tools` into a cache outside the repo).
// The versions come from build/tools/versions.env, the single place they are pinned.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

function pinned(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(root, 'build/tools/versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The cache root, as build/tools/install.sh computes it. */
export function toolsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEIS_ETCD_TOOLS_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'deis-etcd', 'tools');
}

export type EtcdMinor = '3.6' | '3.7';

/** The etcd minor the tests use: DEIS_ETCD_TEST_ETCD=3.7 switches from the default 3.6. */
export function testEtcdMinor(env: NodeJS.ProcessEnv = process.env): EtcdMinor {
  const v = env.DEIS_ETCD_TEST_ETCD ?? '3.6';
  if (v !== '3.6' && v !== '3.7') throw new Error(`DEIS_ETCD_TEST_ETCD must be 3.6 or 3.7, not ${v}`);
  return v;
}

export function etcdVersion(minor: EtcdMinor = testEtcdMinor()): string {
  const v = pinned()[minor === '3.6' ? 'ETCD_36_VERSION' : 'ETCD_37_VERSION'];
  if (!v) throw new Error(`build/tools/versions.env pins no etcd ${minor}`);
  return v;
}

function binary(dir: string, name: string): string {
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run 'make tools' first`);
  return path;
}

/** Path of etcd, etcdctl or etcdutl of the given minor. */
export function etcdTool(name: 'etcd' | 'etcdctl' | 'etcdutl' = 'etcd', minor: EtcdMinor = testEtcdMinor()): string {
  return binary(join(toolsRoot(), `etcd-${etcdVersion(minor)}`, 'bin'), name);
}

/** Path of a Kubernetes binary (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl). */
export function kubeTool(name: string): string {
  return binary(join(toolsRoot(), `kubernetes-${pinned().KUBERNETES_VERSION}`, 'bin'), name);
}

/** Path of the chaos suite's linearizability checker (build/tools/porcupine, built by `make tools`). */
export function porcupineTool(): string {
  return binary(join(toolsRoot(), `porcupine-${pinned().PORCUPINE_VERSION}`, 'bin'), 'porcupine');
}

/** Path of Prometheus' promtool (the alert rules' checker, built by `make tools`). */
export function promtoolTool(): string {
  return binary(join(toolsRoot(), `promtool-${pinned().PROMETHEUS_VERSION}`, 'bin'), 'promtool');
}

/** Path of SeaweedFS's `weed` (the test world's S3-compatible store, built by `make tools`). */
export function seaweedTool(): string {
  return binary(join(toolsRoot(), `seaweedfs-${pinned().SEAWEEDFS_VERSION}`, 'bin'), 'weed');
}
