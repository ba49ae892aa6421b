// The product from its image on the test world: the node agent's container mode runs the local
// overlay's pods from the image built out of this checkout (podman, runc, host network, the pod's
// volumes, env, service-account token and its own 127.x address; the pods' non-root user and read-only
// root from their securityContext; their memory limits through cgroups). The bootstrap and the
// replacement scenarios of deis-etcd.test.ts, in short. Skipped with a notice where no container
// engine is installed (`make container-runtime`). DEIS_ETCD_TEST_IMAGE selects a prebuilt image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { buildImage, containerEngine, engine, TEST_IMAGE_VERSION, testImage } from '../world/containers.ts';
import { waitFor } from '../world/procs.ts';
import { repoRoot, startTestWorld, withImage, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
const eng = containerEngine();
const image = testImage();
let world: TestWorld;
let m: Members;

test.before(async () => {
  if (!eng) return;
  if (!process.env.DEIS_ETCD_TEST_IMAGE) {
    const b = await buildImage(eng, image, TEST_IMAGE_VERSION);
    if (b.code !== 0) throw new Error(`the image build failed:\n${b.stderr.slice(-4000)}`);
  }
  world = await startTestWorld({ images: [image] });
  m = members(world, ns);
  const rendered = await world.kubectl(['kustomize', join(repoRoot, 'kustomize/overlays/local')]);
  const manifests = withImage(rendered, image);
  assert.match(manifests, `image: ${image}`, 'the overlay runs the built image');
  await world.kubectl(['apply', '-f', '-'], manifests);
});
test.after(async () => {
  await world?.stop();
});

if (!eng) {
  test('container mode (skipped)', () => {
    console.log(
      'NOTICE: container-mode e2e skipped: no podman or docker here (make container-runtime installs podman)',
    );
  });
} else {
  test('from the image: discovery ready, 3 members Ready, the member list names exactly the pods', async () => {
    await m.converged(3, { timeoutMs: 180_000 });
    // the pods really run in containers of that image, as the image's user
    const ps = await engine(eng, ['ps', '--format', '{{.Image}} {{.Names}}']);
    const ours = ps.stdout.split('\n').filter((l) => l.startsWith(image));
    assert.ok(ours.length >= 4, `4 containers of ${image} run: ${ps.stdout}`);
    await m.withClient((c) => c.put('container-mode/key').value('from-the-image').exec());
    // what the executable and its etcd cost per pod (the memory cgroup's numbers), for the overlays' limits
    for (const p of (await world.core.listNamespacedPod({ namespace: ns })).items) {
      const u = world.agent.memoryUsage(ns, p.metadata!.name!);
      const mib = (b: number) => (b / 2 ** 20).toFixed(0);
      if (u)
        console.log(
          `  ${p.metadata!.name}: rss ${mib(u.rss)} MiB, peak charged ${mib(u.peak)} MiB, limit ${mib(u.limit)} MiB`,
        );
    }
  });

  test('delete a member pod and its volume: a new member replaces it, data intact', async () => {
    const old = (await m.pods()).find((p) => p.metadata!.name === 'deis-etcd-1');
    assert.ok(old, 'deis-etcd-1 runs');
    const idsBefore = await m.withClient(async (c) => (await c.cluster.memberList({})).members.map((x) => x.ID));
    await world.faults.deletePodAndVolumes(ns, 'deis-etcd-1');
    const replaced = async () =>
      (await m.pods()).some((p) => p.metadata!.name === 'deis-etcd-1' && p.metadata!.uid !== old.metadata!.uid);
    await waitFor('deis-etcd-1 replaced by a new pod', replaced, 60_000, 250);
    await m.converged(3, { timeoutMs: 120_000 });
    const idsAfter = await m.withClient(async (c) => (await c.cluster.memberList({})).members.map((x) => x.ID));
    assert.is(idsAfter.filter((id) => !idsBefore.includes(id)).length, 1, 'one new member ID');
    assert.is(await m.get('container-mode/key'), 'from-the-image');
  });
}

test.run();
