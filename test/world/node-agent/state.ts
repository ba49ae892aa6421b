// What the node agent keeps per pod and per container while it runs them, shared by its modules, and
// the options it is started with.
import type { ChildProcess } from 'node:child_process';
import type * as k8s from '@kubernetes/client-node';
import type { MemoryCgroup } from './cgroup.ts';

export interface AgentOptions {
  kubeconfig: string;
  /** API server host and port, given to pods as KUBERNETES_SERVICE_HOST/PORT. */
  apiHost: string;
  apiPort: number;
  stateDir: string;
  nodeName?: string;
  /** image entrypoint -> argv prefix, e.g. '/bin/boot' -> [node, repo/cmd/boot/main.ts] */
  programs: Record<string, string[]>;
  /** prepended to PATH inside containers (e.g. the etcd binaries' directory) */
  extraPath?: string[];
  /** third octet range start for pod addresses: 127.<a>.<b>.<c> */
  podNet?: number;
  /** DNS domain of the pods' hosts-file names (default cluster.local) */
  clusterDomain?: string;
  /** container mode: these images run through the container engine (podman), the rest as processes */
  images?: string[];
  /** the cgroup v1 memory root whose limits it enforces (default /sys/fs/cgroup/memory when writable); false: none */
  memoryCgroupRoot?: string | false;
}

/** A pod the agent runs: its address, its state dir (volumes, logs) and its containers. */
export interface Run {
  uid: string;
  ns: string;
  name: string;
  ip: string;
  dir: string;
  pod: k8s.V1Pod;
  containers: Map<string, ContainerRun>;
  killing: boolean;
  startTime: string;
  /** the last status reported, so that an unchanged one is not written again */
  statusKey: string;
}

export interface ContainerRun {
  spec: k8s.V1Container;
  proc: ChildProcess | undefined;
  restarts: number;
  ready: boolean;
  startedAt: string | undefined;
  /** the last exit, with the kubelet's reason: Completed, Error or OOMKilled */
  lastExit: { code: number; at: string; reason: string } | undefined;
  /** the engine's container name in container mode (image-mode.ts) */
  imageContainer?: string | undefined;
  /** its memory cgroup while the limits are enforced */
  cgroup?: MemoryCgroup | undefined;
  backoffUntil: number;
  waitingReason: string | undefined;
}

export const now = () => new Date().toISOString();

/** A new Run of `pod` at `ip`, its containers not started yet. */
export function newRun(pod: k8s.V1Pod, ip: string, dir: string): Run {
  const run: Run = {
    uid: pod.metadata!.uid!,
    ns: pod.metadata!.namespace!,
    name: pod.metadata!.name!,
    ip,
    dir,
    pod,
    containers: new Map(),
    killing: false,
    startTime: now(),
    statusKey: '',
  };
  for (const c of pod.spec!.containers) {
    run.containers.set(c.name, {
      spec: c,
      proc: undefined,
      restarts: 0,
      ready: false,
      startedAt: undefined,
      lastExit: undefined,
      backoffUntil: 0,
      waitingReason: 'ContainerCreating',
    });
  }
  return run;
}
