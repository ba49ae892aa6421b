// The faults a test can inject into the world: signal a container's processes (SIGKILL a member,
// SIGSTOP to pause one), signal one process of a container (its main process, or etcd under boot),
// delete a pod (its controller re-creates it), force-delete it, delete a pod and its volumes, scale a
// StatefulSet, cut a pod off from other pods (partition.ts). Stopping the discovery pod is a scale of
// its Deployment (kubectl).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import { partition, partitionSupport } from './partition.ts';

/** What the faults need from the node agent: the process group of a running pod's container. */
export interface PodProcesses {
  /** The process group id of the container (default: the first); throws if it is not running. */
  processGroup(ns: string, pod: string, container?: string): number;
}

export class Faults {
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly pods: PodProcesses;
  /** Names this world's packet-filter tables (its pod network), apart from another world's. */
  private readonly tag: string;

  constructor(deps: { core: k8s.CoreV1Api; apps: k8s.AppsV1Api; pods: PodProcesses; tag: string }) {
    this.core = deps.core;
    this.apps = deps.apps;
    this.pods = deps.pods;
    this.tag = deps.tag;
  }

  /** Why partitions cannot be made on this machine, or undefined when they can. */
  readonly partitionSupport = partitionSupport;

  /**
   * Cuts a pod off from other pods (every packet between their addresses dropped, both ways) and
   * returns the function that heals the partition. Traffic to and from the host (the API server, the
   * tests' clients) still flows.
   */
  async partition(ns: string, pod: string, from: string[]): Promise<() => void> {
    const ip = async (name: string) => {
      const p = await this.core.readNamespacedPod({ name, namespace: ns });
      if (!p.status?.podIP) throw new Error(`partition: pod ${name} has no address`);
      return p.status.podIP;
    };
    return partition(this.tag, await ip(pod), await Promise.all(from.map(ip)));
  }

  /** Sends a signal to the process group of a pod's container (default: the first). */
  signal(ns: string, pod: string, sig: NodeJS.Signals, container?: string): void {
    process.kill(-this.pods.processGroup(ns, pod, container), sig);
  }

  /**
   * Sends a signal to one process of a pod's container: `main` is the container's main process (boot),
   * any other name is matched against the command names (/proc/PID/comm) of the container's process
   * group, e.g. 'etcd'. Returns the pids signalled (none when no such process runs).
   */
  signalProcess(ns: string, pod: string, which: string, sig: NodeJS.Signals, container?: string): number[] {
    const group = this.pods.processGroup(ns, pod, container);
    const pids =
      which === 'main'
        ? [group]
        : groupMembers(group)
            .filter((p) => p.comm === which)
            .map((p) => p.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone meanwhile */
      }
    }
    return pids;
  }

  /** Sets a StatefulSet's replicas (read, change, replace; again on a write conflict with its controller). */
  async scaleStatefulSet(ns: string, name: string, replicas: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const sts = await this.apps.readNamespacedStatefulSet({ name, namespace: ns });
      sts.spec!.replicas = replicas;
      try {
        await this.apps.replaceNamespacedStatefulSet({ name, namespace: ns, body: sts });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= 10) throw err;
      }
    }
  }

  /** Deletes the pod with its grace period, as `kubectl delete pod` does. */
  async deletePod(ns: string, name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ name, namespace: ns });
  }

  /** Deletes the pod at once (grace period 0), as `kubectl delete pod --force --grace-period=0` does. */
  async forceDeletePod(ns: string, name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ name, namespace: ns, body: { gracePeriodSeconds: 0 } });
  }

  /** Deletes the pod's PersistentVolumeClaims and the data of their volumes, then the pod. */
  async deletePodAndVolumes(ns: string, name: string): Promise<void> {
    const pod = await this.core.readNamespacedPod({ name, namespace: ns });
    for (const v of pod.spec?.volumes ?? []) {
      if (!v.persistentVolumeClaim) continue;
      const claimName = v.persistentVolumeClaim.claimName;
      const pvc = await this.core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace: ns });
      if (pvc.spec?.volumeName) {
        const pv = await this.core.readPersistentVolume({ name: pvc.spec.volumeName });
        if (pv.spec?.hostPath?.path) rmSync(pv.spec.hostPath.path, { recursive: true, force: true });
      }
      await this.core.deleteNamespacedPersistentVolumeClaim({ name: claimName, namespace: ns });
    }
    await this.deletePod(ns, name);
  }
}

/** The processes of a process group, from /proc (Linux). */
function groupMembers(pgid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces or parentheses, so split after the last ')'
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[2]) === pgid) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}
