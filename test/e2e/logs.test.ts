// The test world keeps container logs after their pods are gone and serves them as a kubelet does:
// `kubectl logs` (and `--previous`) through the API server, for a running pod, for a restarted
// container, and for the previous container of a pod name whose earlier incarnation was deleted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '../world/procs.ts';
import { startTestWorld, type TestWorld } from '../world/world.ts';

let world: TestWorld;
const dir = tempDir('deis-etcd-world-');
const logDir = () => join(dir, 'node', 'logs', 'default', 'talker');

/**
 * A pod whose container prints its incarnation and a unique stamp, then exits after `lifeS`: it
 * restarts (the second incarnation lives long enough that its first run stays the current one).
 */
const talker = (incarnation: string, lifeS: number) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'talker', namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: 'none',
          command: ['/bin/sh', '-c', 'echo "incarnation $INC run $(date +%s%N)"; sleep $LIFE; exit 1'],
          env: [
            { name: 'INC', value: incarnation },
            { name: 'LIFE', value: String(lifeS) },
          ],
        },
      ],
    },
  });

const restarts = async () =>
  (await world.core.readNamespacedPod({ name: 'talker', namespace: 'default' })).status?.containerStatuses?.[0]
    ?.restartCount ?? 0;

test.before(async () => {
  world = await startTestWorld({ dir });
});
test.after(async () => {
  await world?.stop();
});

test('kubectl logs and logs --previous of a restarting container', async () => {
  await world.kubectl(['apply', '-f', '-'], talker('one', 2));
  await waitFor('a restart', async () => (await restarts()) >= 1, 60_000, 250);
  // as with a kubelet, a container in its restart back-off is still the current one: --previous
  // exists once a second run has started (and printed)
  const [current, previous] = await waitFor(
    'a second run with a previous one',
    async () => {
      const prev = (await world.kubectl(['logs', 'talker', '--previous']).catch(() => '')).trim();
      const cur = (await world.kubectl(['logs', 'talker'])).trim();
      // a restart between the two reads shows the same run twice: read again
      return prev && cur && prev !== cur ? [cur, prev] : undefined;
    },
    60_000,
    250,
  );
  assert.match(current, /^incarnation one run \d+$/);
  assert.match(previous, /^incarnation one run \d+$/);
  const tail = (await world.kubectl(['logs', 'talker', '--tail=1'])).trim();
  assert.match(tail, /^incarnation one run \d+$/);
});

test("a deleted pod's logs stay; its successor's --previous is the deleted incarnation's last run", async () => {
  const before = (await world.kubectl(['logs', 'talker'])).trim();
  await world.kubectl(['delete', 'pod', 'talker', '--wait=true', '--timeout=60s']);
  assert.ok(existsSync(logDir()), 'the logs directory outlives the pod');
  const kept = readdirSync(logDir()).sort();
  assert.ok(kept.length >= 2 && kept.every((f) => /^app\.\d+\.log$/.test(f)), kept.join(' '));

  await world.kubectl(['apply', '-f', '-'], talker('two', 120));
  const current = await waitFor(
    'the new incarnation to print',
    async () => {
      const out = (await world.kubectl(['logs', 'talker']).catch(() => '')).trim();
      return out.startsWith('incarnation two') ? out : undefined;
    },
    60_000,
    250,
  );
  assert.match(current, /^incarnation two run \d+$/);
  const previous = (await world.kubectl(['logs', 'talker', '--previous'])).trim();
  assert.match(previous, /^incarnation one run \d+$/, 'the last run of the deleted incarnation');
  assert.ok(before.startsWith('incarnation one'));
  assert.match(await world.agent.logs('default', 'talker'), /incarnation one[\s\S]*incarnation two/);
});

test('logs of a container that is not there: an error, not an empty answer', async () => {
  await world.kubectl(['logs', 'talker', '-c', 'nope']).then(
    () => assert.unreachable('kubectl logs -c nope should fail'),
    (err: unknown) => assert.match(String(err), /container nope is not valid|not found/),
  );
});

test.run();
