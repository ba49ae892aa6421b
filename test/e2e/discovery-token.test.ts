// The discovery token against the real API server: with no token configured, two discovery
// services starting at once create the Secret create-if-absent and agree on one random token.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { startTestWorld, type TestWorld } from '../world/world.ts';
import { programEnv, runProgramProcess } from '../world/programs.ts';
import { tempDir, waitFor } from '../world/procs.ts';
import { freeAddress } from '../world/net.ts';
import { etcdTool } from '../world/tools.ts';

let world: TestWorld;
test.before(async () => {
  world = await startTestWorld();
});
test.after(async () => {
  await world?.stop();
});

test('two racing discovery starts agree on one generated token Secret', async () => {
  await world.kubectl(['create', 'namespace', 'race']);
  const dir = tempDir();
  const procs = await Promise.all(
    [0, 1].map(async (i) =>
      runProgramProcess(
        'discovery',
        `disc-${i}`,
        [],
        programEnv({
          KUBECONFIG: world.kubeconfig,
          POD_NAMESPACE: 'race',
          POD_IP: await freeAddress([2381, 2382, 8081]),
          DEIS_ETCD_TOKEN_FILE: join(dir, `absent-${i}`),
          DEIS_ETCD_DATA_DIR: join(dir, `data-${i}`),
          DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
        }),
        dir,
      ),
    ),
  );
  const prints = await Promise.all(
    procs.map((p) =>
      waitFor(
        `${p.name} ready`,
        () => {
          if (!p.running()) throw new Error(p.log());
          return /"msg":"discovery ready".*"tokenFingerprint":"([0-9a-f]{12})"/.exec(p.log())?.[1];
        },
        60_000,
        200,
      ),
    ),
  );
  const secret = await world.core.readNamespacedSecret({ name: 'deis-etcd-discovery-token', namespace: 'race' });
  const token = Buffer.from(secret.data!.token!, 'base64').toString();
  assert.match(token, /^[0-9a-f]{32}$/);
  const want = createHash('sha256').update(token).digest('hex').slice(0, 12);
  assert.equal(prints, [want, want], "both use the Secret's token");
  for (const p of procs) assert.not.match(p.log(), token, 'the token never reaches the log');
  await Promise.all(procs.map((p) => p.stop()));
});

test.run();
