// The test world itself, proved with a trivial workload (not our product): a StatefulSet of three
// small HTTP servers gets Running pods with distinct addresses; env, Secrets and a service-account
// token arrive; a Service's ClusterIP reaches a pod; a deleted pod comes back with the same name and
// its volume's data; Ready follows the readiness probe; the real kubectl sees it all; teardown leaves
// no process behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPrograms, isReady, repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';
import { tempDir, waitFor } from '../world/procs.ts';

let world: TestWorld;
const readyFile = join(tempDir(), 'ready');
const started = Date.now();
let startMs = 0;

const manifest = `
apiVersion: v1
kind: Secret
metadata: { name: fixture }
stringData: { greeting: hello-from-secret }
---
apiVersion: v1
kind: Service
metadata: { name: fixture }
spec:
  selector: { app: fixture }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: fixture }
spec:
  replicas: 3
  serviceName: fixture
  podManagementPolicy: Parallel
  selector: { matchLabels: { app: fixture } }
  template:
    metadata: { labels: { app: fixture } }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: web
          image: fixture
          command: [/bin/fixture]
          env:
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: GREETING, value: "hi $(POD_NAME)" }
            - { name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
            - { name: FROM_SECRET, valueFrom: { secretKeyRef: { name: fixture, key: greeting } } }
            - { name: READY_FILE, value: "${readyFile}" }
          ports: [{ name: http, containerPort: 8000 }]
          readinessProbe: { httpGet: { path: /ready, port: http }, periodSeconds: 1 }
          volumeMounts:
            - { name: secret, mountPath: /etc/fixture-secret, readOnly: true }
            - { name: data, mountPath: /data }
      volumes:
        - { name: secret, secret: { secretName: fixture } }
  volumeClaimTemplates:
    - metadata: { name: data }
      spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Mi } } }
`;

interface Info {
  pod: string;
  ip: string;
  greeting: string;
  fromSecret: string;
  mounted: string;
  starts: number;
  token: boolean;
}
const info = async (ip: string, port = 8000): Promise<Info> =>
  (await (await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(2000) })).json()) as Info;

async function pods() {
  return (await world.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=fixture' })).items;
}

test.before(async () => {
  world = await startTestWorld({
    programs: {
      ...defaultPrograms(),
      '/bin/fixture': [join(repoRoot, 'node_modules/.bin/node'), join(repoRoot, 'test/e2e/fixtures/http-server.ts')],
    },
  });
  startMs = Date.now() - started;
  writeFileSync(readyFile, '');
  await world.kubectl(['apply', '-f', '-'], manifest);
});
test.after(async () => {
  await world?.stop();
});

test('three pods run with distinct loopback addresses, env and secrets resolved', async () => {
  await waitFor(
    '3 ready pods',
    async () => {
      const ps = await pods();
      return ps.length === 3 && ps.every(isReady) ? ps : false;
    },
    60_000,
    250,
  ).catch((err) => {
    throw new Error(`${String(err)}; agent errors: ${world.agent.recentErrors().join(' | ')}`);
  });
  const ps = await pods();
  const ips = ps.map((p) => p.status!.podIP!);
  assert.is(new Set(ips).size, 3);
  for (const ip of ips) assert.match(ip, /^127\./);
  const i = await info(ps[0]!.status!.podIP!);
  assert.is(i.greeting, `hi ${i.pod}`, '$(VAR) expansion');
  assert.is(i.fromSecret, 'hello-from-secret');
  assert.is(i.mounted, 'hello-from-secret', 'secret volume at its mountPath');
  assert.is(i.token, true, 'service-account token projected');
  console.log(`  control plane + node agent start: ${startMs} ms`);
});

test('the real kubectl sees the pods Running and Ready', async () => {
  const out = await world.kubectl(['get', 'pods', '-l', 'app=fixture', '-o', 'wide']);
  assert.is(out.match(/Running/g)?.length, 3, out);
  assert.is(out.match(/1\/1/g)?.length, 3, out);
});

test('the Service ClusterIP reaches a pod', async () => {
  const svc = await world.core.readNamespacedService({ name: 'fixture', namespace: 'default' });
  const ip = svc.spec!.clusterIP!;
  const i = await waitFor('the ClusterIP answers', () => info(ip, 80), 10_000, 200);
  assert.match(i.pod, /^fixture-\d$/);
});

test('a deleted pod comes back with the same name and its volume data', async () => {
  const old = (await pods()).find((p) => p.metadata!.name === 'fixture-1')!;
  const before = await info(old.status!.podIP!);
  await world.faults.deletePod('default', 'fixture-1');
  const again = await waitFor(
    'fixture-1 back and ready',
    async () => {
      const p = (await pods()).find((x) => x.metadata!.name === 'fixture-1');
      return p && isReady(p) && p.metadata!.uid !== old.metadata!.uid ? p : false;
    },
    60_000,
    250,
  );
  const after = await waitFor('fixture-1 answers', () => info(again.status!.podIP!), 10_000, 200);
  assert.is(after.starts, before.starts + 1, 'the counter on its volume survived');
});

test('Ready follows the readiness probe', async () => {
  rmSync(readyFile);
  await waitFor('all pods not ready', async () => (await pods()).every((p) => !isReady(p)), 20_000, 250).catch(
    async (err) => {
      throw new Error(
        `${String(err)}: ${await world.kubectl(['get', 'pods', '-o', 'wide'])} ${world.agent.recentErrors().join(' | ')}`,
      );
    },
  );
  writeFileSync(readyFile, '');
  await waitFor('all pods ready again', async () => (await pods()).every(isReady), 20_000, 250);
});

test('a SIGKILLed container is restarted', async () => {
  world.faults.signal('default', 'fixture-0', 'SIGKILL');
  await waitFor(
    'restart count 1 and ready',
    async () => {
      const p = (await pods()).find((x) => x.metadata!.name === 'fixture-0')!;
      return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && isReady(p);
    },
    30_000,
    250,
  );
});

test('teardown leaves no process behind', async () => {
  const dir = world.cp.dir;
  await world.stop();
  const left = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir) || l.includes('fixtures/http-server.ts'));
  assert.equal(left, []);
  world = undefined as unknown as TestWorld;
});

test.run();
