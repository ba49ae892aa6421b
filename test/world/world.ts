// The test world in one call: a real control plane plus the node agent, with the image entrypoints
// mapped to this checkout's programs and etcd on the containers' PATH.
//
// test/world/ is the local world shared by the tests, bench/ and build/local/ (`make up`): real etcd
// processes, our programs, the control plane and the node agent on loopback. bench/ and build/ import
// nothing else under test/, and test/world/ imports nothing from the rest of test/
// (test/unit/layers.test.ts holds both rules).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { NodeAgent } from './node-agent/agent.ts';
import { Faults } from './node-agent/faults.ts';
import { clearPartitions } from './node-agent/partition.ts';
import { etcdTool, kubeTool } from './tools.ts';
import { tempDir, waitFor } from './procs.ts';
import { nodeBin as node, repoRoot } from './programs.ts';

export { repoRoot };
const run = promisify(execFile);

/** Image entrypoints -> this checkout's programs. */
export const defaultPrograms = (): Record<string, string[]> => ({
  '/bin/boot': [node, join(repoRoot, 'cmd/boot/main.ts')],
  '/bin/discovery': [node, join(repoRoot, 'cmd/discovery/main.ts')],
  '/bin/snapshot': [node, join(repoRoot, 'cmd/snapshot/main.ts')],
  '/usr/local/bin/boot': [node, join(repoRoot, 'cmd/boot/main.ts')],
  '/usr/local/bin/discovery': [node, join(repoRoot, 'cmd/discovery/main.ts')],
});

/** Rendered manifests with every `image: deis/etcd[:tag]` replaced by `image`. */
export const withImage = (manifests: string, image: string): string =>
  manifests.replace(/^(\s*(?:- )?image: )deis\/etcd(?::[\w.-]+)?\s*$/gm, `$1${image}`);

/** Whether a pod's Ready condition is True. */
export const isReady = (p: k8s.V1Pod): boolean =>
  !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export interface TestWorld {
  cp: ControlPlane;
  agent: NodeAgent;
  /** Faults to inject: signal a pod's processes, delete a pod (with its volumes), scale a StatefulSet. */
  faults: Faults;
  kubeconfig: string;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  /** Runs the real kubectl against the world; rejects with its stderr on failure. */
  kubectl(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestWorld(
  opts: {
    dir?: string;
    programs?: Record<string, string[]>;
    podNet?: number;
    /** container mode: pods with these images run from them through podman (node-agent/image-mode.ts) */
    images?: string[];
  } = {},
): Promise<TestWorld> {
  const dir = opts.dir ?? tempDir('deis-etcd-world-');
  const cp = await startControlPlane({ dir: join(dir, 'control-plane') });
  const agent = new NodeAgent({
    kubeconfig: cp.kubeconfig,
    apiHost: cp.host,
    apiPort: cp.port,
    stateDir: join(dir, 'node'),
    programs: opts.programs ?? defaultPrograms(),
    extraPath: [join(etcdTool('etcd'), '..')],
    // a second world on the machine (make up, another test run) needs its own pod addresses
    ...(opts.podNet !== undefined ? { podNet: opts.podNet } : {}),
    ...(opts.images ? { images: opts.images } : {}),
  });
  await agent.start();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  // the default ServiceAccount must exist before pods can be admitted
  const accounts = async () => (await core.listNamespacedServiceAccount({ namespace: 'default' })).items;
  await waitFor('the default ServiceAccount', async () => (await accounts()).length > 0, 30_000, 200);
  const kubectl = async (args: string[], input?: string) => {
    const p = run(kubeTool('kubectl'), ['--kubeconfig', cp.kubeconfig, ...args], { maxBuffer: 16 * 2 ** 20 });
    if (input !== undefined) {
      p.child.stdin!.end(input);
    }
    try {
      return (await p).stdout;
    } catch (err) {
      throw new Error(`kubectl ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    }
  };
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const tag = `net${opts.podNet ?? 'default'}`;
  clearPartitions(tag); // left by a run that crashed
  return {
    cp,
    agent,
    faults: new Faults({ core, apps, pods: agent, tag }),
    kubeconfig: cp.kubeconfig,
    core,
    apps,
    kubectl,
    async stop() {
      clearPartitions(tag);
      await agent.stop();
      await cp.stop();
    },
  };
}
