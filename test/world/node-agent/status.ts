// A pod's status as the kubelet reports it: phase (Succeeded or Failed once a Job's containers exited
// for good), hostIP/podIP, container states and restart counts,
// and the Ready/ContainersReady conditions from the readiness probes; written only when it changed.
import type * as k8s from '@kubernetes/client-node';
import type { ContainerRun, Run } from './state.ts';

/** Whether a container exited for good: its pod's restartPolicy does not start it again. */
export function exitedForGood(run: Run, c: ContainerRun): boolean {
  const policy = run.pod.spec!.restartPolicy ?? 'Always';
  return !c.proc && !!c.lastExit && (policy === 'Never' || (policy === 'OnFailure' && c.lastExit.code === 0));
}

function containerStatus(run: Run, c: ContainerRun): k8s.V1ContainerStatus {
  const exited = c.lastExit
    ? { exitCode: c.lastExit.code, reason: c.lastExit.reason, finishedAt: new Date(c.lastExit.at) }
    : undefined;
  const state: k8s.V1ContainerState = c.proc
    ? { running: { startedAt: new Date(c.startedAt!) } }
    : exited && exitedForGood(run, c)
      ? { terminated: exited }
      : { waiting: { reason: c.lastExit ? 'CrashLoopBackOff' : (c.waitingReason ?? 'ContainerCreating') } };
  return {
    name: c.spec.name,
    image: c.spec.image ?? '',
    imageID: '',
    ready: c.ready,
    restartCount: c.restarts,
    started: !!c.proc,
    state,
    ...(exited ? { lastState: { terminated: exited } } : {}),
  };
}

/** Writes the pod's status if it differs from the last one written (and the pod is still this run's). */
export async function reportStatus(core: k8s.CoreV1Api, run: Run): Promise<void> {
  const cs = [...run.containers.values()].map((c) => containerStatus(run, c));
  const allReady = cs.every((c) => c.ready);
  const anyRunning = cs.some((c) => c.state?.running);
  // a Job's pod: every container exited for good -> Succeeded when all exited 0, else Failed
  const runs = [...run.containers.values()];
  const phase = runs.every((c) => exitedForGood(run, c))
    ? runs.every((c) => c.lastExit!.code === 0)
      ? 'Succeeded'
      : 'Failed'
    : anyRunning || cs.some((c) => c.restartCount > 0)
      ? 'Running'
      : 'Pending';
  const cond = (type: string, ok: boolean): k8s.V1PodCondition => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: new Date(),
  });
  const states = cs.map((c) => [
    c.ready,
    c.restartCount,
    Object.keys(c.state ?? {})[0],
    c.state?.waiting?.reason,
    c.lastState?.terminated?.reason,
  ]);
  const key = JSON.stringify([phase, run.ip, states]);
  if (key === run.statusKey) return;
  const pod = await core.readNamespacedPod({ name: run.name, namespace: run.ns });
  if (pod.metadata!.uid !== run.uid) return;
  pod.status = {
    ...pod.status,
    phase,
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: run.ip,
    podIPs: [{ ip: run.ip }],
    startTime: new Date(run.startTime),
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', true),
      cond('ContainersReady', allReady),
      cond('Ready', allReady),
    ],
    containerStatuses: cs,
  };
  await core.replaceNamespacedPodStatus({ name: run.name, namespace: run.ns, body: pod });
  run.statusKey = key;
}
