// The node agent's container mode: a container whose image is one of AgentOptions.images runs from
// that image through podman (or docker) instead of as a local process: `<engine> run` in the
// foreground (the agent's child; its exit is the container's exit, SIGTERM is proxied to the
// container), host network so that the container binds the pod's own 127.x address, the pod's
// volumes bind-mounted at their mountPaths (writable ones owned by the pod's fsGroup/runAsUser, as
// the kubelet's fsGroup handling does), the agent's hosts file at /etc/hosts, the resolved env (the
// downward API, secrets, service links, KUBERNETES_SERVICE_*), the pod's user and read-only root
// from its securityContext, and its memory cgroup as the cgroup parent (cgroup.ts) so that limits
// and OOM kills work as in process mode.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';

export interface ImageMode {
  engine: string;
  /** the engine's environment (CONTAINERS_CONF, ...) */
  env: NodeJS.ProcessEnv;
  /** flags of every run (host network, ulimits, no pulls) */
  runFlags: string[];
  /** images run this way */
  images: Set<string>;
}

export interface ImageRun {
  name: string;
  image: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** host dir -> [mountPath, readOnly] */
  mounts: { src: string; at: string; readOnly: boolean; writable: boolean }[];
  hostsFile: string;
  pod: k8s.V1PodSpec;
  spec: k8s.V1Container;
  /** the container's cgroup path relative to the controller root (cgroup.ts), if limits are enforced */
  cgroupParent?: string | undefined;
  logFd: number;
}

/** Env names that describe the agent's host, not the container (the image sets its own). */
const HOST_ONLY = new Set(['PATH', 'HOME']);

/** Starts the container; the returned process is the engine's foreground `run`. */
export function runImage(mode: ImageMode, r: ImageRun): ChildProcess {
  const sc = { ...r.pod.securityContext, ...r.spec.securityContext } as k8s.V1SecurityContext &
    k8s.V1PodSecurityContext;
  const uid = sc.runAsUser;
  const gid = r.pod.securityContext?.fsGroup ?? sc.runAsGroup ?? uid;
  const args = ['run', '--rm', '--name', r.name, ...mode.runFlags];
  if (uid !== undefined) args.push('--user', `${uid}:${sc.runAsGroup ?? uid}`);
  if (sc.readOnlyRootFilesystem) args.push('--read-only');
  if (r.cgroupParent) args.push('--cgroup-parent', r.cgroupParent);
  for (const m of r.mounts) {
    if (m.writable && gid !== undefined) chownSync(m.src, uid ?? 0, gid);
    args.push('--volume', `${m.src}:${m.at}${m.readOnly ? ':ro' : ''}`);
  }
  args.push('--volume', `${r.hostsFile}:/etc/hosts:ro`);
  for (const [k, v] of Object.entries(r.env)) if (v !== undefined && !HOST_ONLY.has(k)) args.push('--env', `${k}=${v}`);
  if (r.spec.workingDir) args.push('--workdir', r.spec.workingDir);
  const [entry, ...rest] = r.argv;
  if (entry) args.push('--entrypoint', entry);
  args.push(r.image, ...rest);
  return spawn(mode.engine, args, { env: mode.env, stdio: ['ignore', r.logFd, r.logFd], detached: true });
}

/** Removes the container if it is still there (its `run` was killed): never rejects. */
export function removeImageContainer(mode: ImageMode, name: string): Promise<void> {
  return new Promise((resolve) => {
    execFile(mode.engine, ['rm', '--force', '--time', '0', name], { env: mode.env, timeout: 60_000 }, () => resolve());
  });
}
