// A container as a local process group: its command runs in a mount namespace of its own
// (unshare -m) where the pod's volumes are bind-mounted at their mountPaths and the agent's hosts
// file at /etc/hosts; image entrypoints (/bin/boot, /bin/discovery) map to this checkout's programs
// through AgentOptions.programs; stdout and stderr go to a file per start under <stateDir>/logs
// (logs.ts), kept after the pod is gone. An exit arms the
// restart back-off (1 s doubling to 30 s: shorter than the kubelet's, to keep tests quick).
// Deletion: SIGTERM to every group, SIGKILL after the grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { MemoryCgroup, parseQuantity } from './cgroup.ts';
import { type ImageMode, removeImageContainer, runImage } from './image-mode.ts';
import { expand, resolveEnv } from './env.ts';
import { nextLogFile } from './logs.ts';
import { exitedForGood } from './status.ts';
import { now, type AgentOptions, type ContainerRun, type Run } from './state.ts';
import { materializeVolumes } from './volumes.ts';

export interface ContainerContext {
  core: k8s.CoreV1Api;
  opts: AgentOptions;
  /** the cluster-DNS hosts file (hosts.ts), mounted at every container's /etc/hosts */
  hostsFile: string;
  /** where containers' memory cgroups go (cgroup.ts), when limits are enforced */
  memory?: { root: string; agentId: string } | undefined;
  /** container mode (image-mode.ts): the images run through a container engine */
  imageMode?: ImageMode | undefined;
  /** container removals under way (container mode), awaited when the agent stops */
  removals?: Set<Promise<void>>;
}

/** Numbers container-mode runs, so that a restart never reuses a name still being removed. */
let imageRuns = 0;

/** Single-quotes s for /bin/sh. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts container `c` of `run`: volumes, env, then the process; throws when one is not ready yet. */
export async function startContainer(ctx: ContainerContext, run: Run, c: ContainerRun): Promise<void> {
  const mounts = await materializeVolumes(ctx.core, run);
  const env = await resolveEnv(ctx.core, ctx.opts, run, c.spec);
  const argv = [...(c.spec.command ?? []), ...(c.spec.args ?? [])].map((a) => expand(a, env));
  const image = ctx.imageMode?.images.has(c.spec.image ?? '') ? ctx.imageMode : undefined;
  if (!argv.length && !image) throw new Error(`container ${c.spec.name} has no command (images are not run here)`);
  const volumeMounts = (c.spec.volumeMounts ?? []).map((m) => {
    const src = mounts.get(m.name);
    if (!src) throw new Error(`volume ${m.name} of ${run.ns}/${run.name} is not ready`);
    return { m, src: m.subPath ? join(src, m.subPath) : src };
  });
  // the container's memory cgroup: process mode joins it first thing, container mode is its child
  const limit = c.spec.resources?.limits?.memory;
  c.cgroup = ctx.memory
    ? new MemoryCgroup(
        ctx.memory.root,
        ctx.memory.agentId,
        `${run.uid}-${c.spec.name}`,
        limit ? parseQuantity(String(limit)) : undefined,
      )
    : undefined;
  mkdirSync(run.dir, { recursive: true });
  const fd = openSync(nextLogFile(ctx.opts.stateDir, run.ns, run.name, c.spec.name), 'a');
  let proc: ChildProcess;
  if (image) {
    const writable = new Set(
      (run.pod.spec!.volumes ?? []).filter((v) => v.emptyDir || v.persistentVolumeClaim).map((v) => v.name),
    );
    c.imageContainer = `deis-etcd-pod-${run.uid.slice(0, 8)}-${c.spec.name}-${++imageRuns}`;
    proc = runImage(image, {
      name: c.imageContainer,
      image: c.spec.image!,
      argv,
      env,
      mounts: volumeMounts.map(({ m, src }) => ({
        src,
        at: m.mountPath,
        readOnly: !!m.readOnly,
        writable: writable.has(m.name) && !m.readOnly,
      })),
      hostsFile: ctx.hostsFile,
      pod: run.pod.spec!,
      spec: c.spec,
      cgroupParent: c.cgroup && ctx.memory ? `/${ctx.memory.agentId}/${run.uid}-${c.spec.name}` : undefined,
      logFd: fd,
    });
  } else {
    const mapped = ctx.opts.programs[argv[0]!];
    const cmd = mapped ? [...mapped, ...argv.slice(1)] : argv;
    const binds = volumeMounts.map(({ m, src }) => {
      const at = sq(m.mountPath);
      const ro = m.readOnly ? ` && mount -o remount,bind,ro ${at}` : '';
      return `mkdir -p ${at} && mount --bind ${sq(src)} ${at}${ro}`;
    });
    binds.push(`mount --bind ${sq(ctx.hostsFile)} /etc/hosts`);
    // the shell joins the container's memory cgroup first, so everything it execs is charged there
    if (c.cgroup) binds.unshift(`echo $$ > ${sq(c.cgroup.procsFile)}`);
    const script = [...binds, 'exec "$@"'].join(' && ');
    proc = spawn('unshare', ['-m', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', ...cmd], {
      env,
      stdio: ['ignore', fd, fd],
      detached: true,
      cwd: c.spec.workingDir ?? '/',
    });
  }
  c.proc = proc;
  c.startedAt = now();
  c.ready = false;
  c.waitingReason = undefined;
  proc.once('exit', (code, signal) => {
    // as in a container's PID namespace, whose processes the kernel kills when its init exits: a
    // main process killed alone (SIGKILL of boot) must not leave its etcd holding the pod's ports
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      /* none left */
    }
    if (c.imageContainer && ctx.imageMode) {
      const removal = removeImageContainer(ctx.imageMode, c.imageContainer);
      ctx.removals?.add(removal);
      void removal.then(() => ctx.removals?.delete(removal));
    }
    c.proc = undefined;
    c.ready = false;
    const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
    // the kubelet's reasons: OOMKilled when the kernel killed a process of the container's cgroup
    const reason = c.cgroup?.oomKilled() ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    c.lastExit = { code: exitCode, at: now(), reason };
    if (!run.killing && !exitedForGood(run, c)) {
      c.restarts++;
      c.backoffUntil = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(5, c.restarts - 1));
    }
  });
}

/** SIGTERM every container's process group, SIGKILL after graceS seconds; resolves once all are gone. */
export async function killPod(run: Run, graceS: number): Promise<void> {
  run.killing = true;
  const procs = [...run.containers.values()].map((c) => c.proc).filter((p): p is ChildProcess => !!p);
  const group = (p: ChildProcess, sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid!, sig);
    } catch {
      /* gone */
    }
  };
  // as a container runtime does: SIGTERM to the container's main process only (boot forwards it to
  // etcd when it is done, e.g. after leaving the cluster), SIGKILL to everything after the grace
  // period; a paused (SIGSTOP) process ignores SIGTERM until SIGKILL, as under a real kubelet
  for (const p of procs) {
    try {
      p.kill('SIGTERM');
    } catch {
      /* gone */
    }
  }
  const timer = setTimeout(() => {
    for (const p of procs) group(p, 'SIGKILL');
  }, graceS * 1000);
  const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
  await Promise.all(procs.map((p) => (exited(p) ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
  clearTimeout(timer);
  for (const p of procs) group(p, 'SIGKILL'); // anything the main process left behind
}
