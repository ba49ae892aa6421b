// The Kubernetes half of `make bench`: on the test world, `kubectl apply -k overlays/local` to three
// Ready members, the heal after a member pod is deleted, and scaling 3 -> 5 -> 3. Each repetition
// uses a namespace of its own (the rendered overlay with its namespace replaced).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { isReady, repoRoot, startTestWorld, type TestWorld } from '../test/world/world.ts';
import { waitFor } from '../test/world/procs.ts';
import { kubeTool } from '../test/world/tools.ts';
import { logTimes, readyEntry, type PhaseMs } from './phases.ts';

async function readyMembers(w: TestWorld, ns: string, n: number, exclude?: string): Promise<void> {
  await waitFor(
    `${n} ready members in ${ns}`,
    async () => {
      const pods = (
        await w.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=member' })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === n && pods.every(isReady) && (!exclude || !pods.some((p) => p.metadata!.uid === exclude));
    },
    240_000,
    100,
  );
}

/** When the old pod (`victim`) is gone and when a new pod of that name is bound, from a watch. */
async function watchPod(w: TestWorld, ns: string, name: string, victim: k8s.V1Pod) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(w.kubeconfig);
  const seen: { gone?: number; bound?: number; stop: () => void } = { stop: () => {} };
  const req = await new k8s.Watch(kc).watch(
    `/api/v1/namespaces/${ns}/pods`,
    { fieldSelector: `metadata.name=${name}`, resourceVersion: victim.metadata!.resourceVersion },
    (type: string, p: k8s.V1Pod) => {
      if (p.metadata!.uid === victim.metadata!.uid) {
        if (type === 'DELETED') seen.gone ??= Date.now();
      } else if (p.spec?.nodeName) seen.bound ??= Date.now();
    },
    () => {},
  );
  seen.stop = () => req.abort();
  return seen;
}

export interface K8sResults {
  applyMs: number[];
  healMs: number[];
  scaleUpMs: number[];
  scaleDownMs: number[];
  /** the replacement boot's phases, one per heal */
  phases: PhaseMs[];
  /**
   * A heal split in steps, from the deletion request: the test world's part before boot runs (the
   * node agent's SIGTERM, the old boot's stop, the old pod's removal, the StatefulSet controller's
   * new pod and the scheduler's binding, the agent's container start), boot's own (process start
   * to ready), and after (until the readiness probe marks the pod Ready and the test sees it).
   */
  split: PhaseMs[];
}

/** Pod deletions per namespace. */
const healsPerRep = Math.max(1, Number(process.env.BENCH_K8S_HEALS ?? 2));

/** `programs`: the image's entrypoints mapped to what runs them (the world's default: Node from source). */
export async function k8sBench(
  reps: number,
  log: (m: string) => void,
  programs?: Record<string, string[]>,
): Promise<K8sResults> {
  const w = await startTestWorld({ programs });
  const rendered = execFileSync(kubeTool('kubectl'), ['kustomize', join(repoRoot, 'kustomize/overlays/local')], {
    encoding: 'utf8',
  });
  const out: K8sResults = { applyMs: [], healMs: [], scaleUpMs: [], scaleDownMs: [], phases: [], split: [] };
  try {
    for (let i = 0; i < reps; i++) {
      const ns = `bench-${i}`;
      log(`k8s rep ${i + 1}/${reps}`);
      const t0 = performance.now();
      await w.kubectl(
        ['apply', '-f', '-'],
        rendered
          .replaceAll('namespace: deis-etcd', `namespace: ${ns}`)
          .replace(/kind: Namespace\nmetadata:\n {2}name: deis-etcd/, `kind: Namespace\nmetadata:\n  name: ${ns}`),
      );
      await readyMembers(w, ns, 3);
      out.applyMs.push(performance.now() - t0);

      // the pod deletion is the heal operators see: two per namespace, so that a run has twice as many
      // samples of it as of the apply (BENCH_K8S_HEALS)
      for (let h = 0; h < healsPerRep; h++) {
        // etcd refuses a member add until the member that takes it has been connected to a quorum of
        // voters for 5 s (strict reconfiguration, HealthInterval): a heal in a cluster formed a second
        // ago would measure that window, which a running cluster is long past
        await new Promise((r) => setTimeout(r, 5500));
        const victim = await w.core.readNamespacedPod({ name: 'deis-etcd-1', namespace: ns });
        const seen = await watchPod(w, ns, 'deis-etcd-1', victim);
        const t1 = performance.now();
        const deletedAt = Date.now();
        await w.faults.deletePod(ns, 'deis-etcd-1');
        await readyMembers(w, ns, 3, victim.metadata!.uid);
        const seenReadyAt = Date.now();
        out.healMs.push(performance.now() - t1);
        seen.stop();
        const logs = await w.agent.logs(ns, 'deis-etcd-1');
        const ready = readyEntry(logs);
        const old = logTimes(logs, ['signal received', 'stopped'], deletedAt);
        if (ready && ready.at > deletedAt) {
          const bootStart = ready.at - ready.phases.total!;
          out.phases.push(ready.phases);
          const steps: [string, number | undefined][] = [
            ['agent: deletion to SIGTERM in the old boot', old['signal received']],
            ['old boot: SIGTERM to exit', old.stopped],
            ['old pod object gone', seen.gone],
            ['new pod created and bound', seen.bound],
            ['agent: bound to the new boot started', bootStart],
          ];
          const split: PhaseMs = { 'before boot (world)': bootStart - deletedAt };
          let prev = deletedAt;
          for (const [name, at] of steps) {
            if (at === undefined || at < prev) continue;
            split[name] = at - prev;
            prev = at;
          }
          out.split.push({
            ...split,
            'boot, start to ready': ready.phases.total!,
            'after ready (probe)': seenReadyAt - ready.at,
          });
        }
      }

      const t2 = performance.now();
      await w.faults.scaleStatefulSet(ns, 'deis-etcd', 5);
      await readyMembers(w, ns, 5);
      out.scaleUpMs.push(performance.now() - t2);
      const t3 = performance.now();
      await w.faults.scaleStatefulSet(ns, 'deis-etcd', 3);
      await readyMembers(w, ns, 3);
      out.scaleDownMs.push(performance.now() - t3);
      await w.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  } finally {
    await w.stop();
  }
  return out;
}
