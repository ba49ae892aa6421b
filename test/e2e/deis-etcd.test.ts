// The product on the test world: the local overlay applied with the real kubectl, the programs
// running in pods under their ServiceAccount token and RBAC, then the operator's scenarios.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { killAndRejoin, scaleUpAndDown } from '../helpers/scenarios.ts';
import { waitFor, within } from '../world/procs.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;

test.before(async () => {
  world = await startTestWorld();
  m = members(world, ns);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
});
test.after(async () => {
  await world?.stop();
});

test('every overlay passes kubectl apply --dry-run=server', async () => {
  for (const o of ['dev', 'insecure-registry', 'production']) {
    await world.kubectl(['create', 'namespace', `dry-${o}`]);
    const out = await world.kubectl([
      'apply',
      '--dry-run=server',
      '-n',
      `dry-${o}`,
      '-k',
      join(repoRoot, 'kustomize/overlays', o),
    ]);
    assert.match(out, /statefulset.apps\/deis-etcd (created|configured|unchanged) \(server dry run\)/);
  }
});

test('apply: discovery ready, 3 members Ready, member list names exactly the pods, one cluster', async () => {
  await m.converged(3, { timeoutMs: 180_000 });
  const secret = await world.core.readNamespacedSecret({ name: 'deis-etcd-discovery-token', namespace: ns });
  assert.match(
    Buffer.from(secret.data!.token!, 'base64').toString(),
    /^[0-9a-f]{32}$/,
    'discovery generated the token Secret',
  );
  const ids = new Set<string>();
  for (const p of await m.pods()) {
    const c = new Etcd3({ hosts: `http://${p.status!.podIP}:2379` });
    try {
      ids.add((await within(5000, 'status', c.maintenance.status())).header.cluster_id);
    } finally {
      c.close();
    }
  }
  assert.is(ids.size, 1);
});

test('a key written through the deis-etcd Service reads back', async () => {
  const svc = await world.core.readNamespacedService({ name: 'deis-etcd', namespace: ns });
  const c = new Etcd3({ hosts: `http://${svc.spec!.clusterIP}:2379`, dialTimeout: 2000 });
  try {
    await within(5000, 'put', c.put('e2e/key').value('through-the-service').exec());
  } finally {
    c.close();
  }
  assert.is(await m.get('e2e/key'), 'through-the-service');
});

test('delete one member pod: it returns, 3 members, no stale member, data intact', async () => {
  const old = (await m.pods()).find((p) => p.metadata!.name === 'deis-etcd-1');
  assert.ok(old, 'deis-etcd-1 runs');
  await world.faults.deletePod(ns, 'deis-etcd-1');
  // the replacement is a new pod of the same name (whether or not it is Ready yet when seen)
  const replaced = async () =>
    (await m.pods()).some((p) => p.metadata!.name === 'deis-etcd-1' && p.metadata!.uid !== old.metadata!.uid);
  await waitFor('deis-etcd-1 replaced by a new pod', replaced, 60_000, 250);
  await m.converged(3);
  assert.is(await m.get('e2e/key'), 'through-the-service');
});

const kept = { key: 'e2e/key', value: 'through-the-service' };

test("SIGKILL a member's processes: restarted by the node agent, it rejoins from its data", async () => {
  await killAndRejoin(world, m, ns, 'deis-etcd-2', kept);
});

test('scale 3 -> 5 -> 3: membership follows the replicas, data intact', async () => {
  await scaleUpAndDown(world, m, ns, kept);
});

test('RBAC: without list on pods, boot fails with a message naming it', async () => {
  const role = await world.kubectl(['get', 'role', 'deis-etcd', '-n', ns, '-o', 'json']);
  const parsed = JSON.parse(role) as {
    metadata: { resourceVersion?: string };
    rules: { resources: string[]; verbs: string[] }[];
  };
  delete parsed.metadata.resourceVersion;
  const cut = {
    ...parsed,
    rules: parsed.rules.map((r) => (r.resources.includes('pods') ? { ...r, verbs: ['get'] } : r)),
  };
  await world.kubectl(['replace', '-f', '-'], JSON.stringify(cut));
  try {
    await world.faults.deletePod(ns, 'deis-etcd-0');
    const line = await waitFor(
      'the RBAC error line',
      async () => {
        const log = await m.logs('deis-etcd-0');
        return log.split('\n').find((l) => l.includes('"level":"error"') && l.includes('refused to list pods'));
      },
      60_000,
      500,
    );
    assert.match(line, /grant 'list' on 'pods'/);
  } finally {
    await world.kubectl(['replace', '-f', '-'], JSON.stringify(parsed));
  }
  await m.converged(3);
});

test.run();
