// Memory limits in the test world, as a kubelet enforces them: the node agent puts each container in
// a cgroup v1 memory cgroup with its resources.limits.memory, so a pod that grows past its limit is
// killed by the kernel, reported as lastState.terminated.reason OOMKilled, and restarted; a pod under
// its limit keeps running. Skipped with a notice where the memory controller is not writable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { members } from '../helpers/members.ts';
import { nodeBin } from '../world/programs.ts';
import { isReady, repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';
import { waitFor } from '../world/procs.ts';

let world: TestWorld;

// grows by 8 MiB of touched memory every 20 ms up to `mib`, then idles (bounded in size and time)
const hog = (mib: number) =>
  `const a=[];const t=setInterval(()=>{if(a.length*8>=${mib}){clearInterval(t);setTimeout(()=>{},600000);return}a.push(Buffer.alloc(8<<20,1))},20)`;

const pod = (name: string, limit: string, mib: number) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
    - name: hog
      image: hog
      command: [${JSON.stringify(nodeBin)}, -e, ${JSON.stringify(hog(mib))}]
      resources: { limits: { memory: ${limit} } }
`;

const read = (name: string) => world.core.readNamespacedPod({ name, namespace: 'default' });
const status = (p: k8s.V1Pod) => p.status?.containerStatuses?.[0];

test.before(async () => {
  world = await startTestWorld();
});
test.after(async () => {
  await world?.stop();
});

test('a pod over its memory limit is OOMKilled and restarted; one under it keeps running', async () => {
  if (world.agent.limitsUnenforced) {
    console.log(`NOTICE: memory limits not enforced here (${world.agent.limitsUnenforced}): test skipped`);
    return;
  }
  await world.kubectl(['apply', '-f', '-'], `${pod('over', '96Mi', 400)}---\n${pod('under', '256Mi', 64)}`);
  const over = await waitFor(
    'the pod over its limit to be OOMKilled and restarted',
    async () => {
      const s = status(await read('over'));
      return s?.lastState?.terminated?.reason === 'OOMKilled' && s.restartCount >= 1 ? s : false;
    },
    60_000,
    250,
  ).catch((err) => {
    throw new Error(`${String(err)}; agent errors: ${world.agent.recentErrors().join(' | ')}`);
  });
  assert.is(over.lastState!.terminated!.exitCode, 137, 'killed by SIGKILL');
  const under = await waitFor('the pod under its limit to run', async () => {
    const s = status(await read('under'));
    return s?.state?.running ? s : false;
  });
  assert.ok(under.state?.running, `the pod under its limit runs: ${JSON.stringify(under.state)}`);
  assert.is(under.restartCount, 0);
  assert.is(under.lastState?.terminated, undefined);
  // what kubectl shows, as with a real kubelet
  const described = await world.kubectl([
    'get',
    'pod',
    'over',
    '-o',
    'jsonpath={.status.containerStatuses[0].lastState.terminated.reason}',
  ]);
  assert.is(described, 'OOMKilled');
});

test("the dev overlay's limits hold: discovery and 3 members run under them, none OOMKilled", async () => {
  if (world.agent.limitsUnenforced) return;
  const ns = 'dev';
  await world.kubectl(['create', 'namespace', ns]);
  await world.kubectl(['apply', '-n', ns, '-k', join(repoRoot, 'kustomize/overlays/dev')]);
  const m = members(world, ns);
  await m.converged(3, { timeoutMs: 180_000 });
  // some writes, so that etcd's own memory is not that of an empty member
  await m.withClient(async (c) => {
    for (let i = 0; i < 200; i++) await c.put(`limits/${i}`).value('x'.repeat(1024));
  }, 60_000);
  const pods = (await world.core.listNamespacedPod({ namespace: ns })).items;
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  for (const p of pods) {
    const name = p.metadata!.name!;
    const s = status(p)!;
    assert.ok(isReady(p), `${name} is Ready`);
    assert.is(s.restartCount, 0, `${name} never restarted (last: ${JSON.stringify(s.lastState?.terminated)})`);
    const u = world.agent.memoryUsage(ns, name)!;
    console.log(`  ${name}: limit ${mib(u.limit)} MiB, rss now ${mib(u.rss)} MiB, peak charged ${mib(u.peak)} MiB`);
    assert.ok(u.rss < u.limit, `${name}: rss ${mib(u.rss)} MiB under its limit ${mib(u.limit)} MiB`);
  }
});

test.run();
