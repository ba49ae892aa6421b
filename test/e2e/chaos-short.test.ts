// The short chaos run (the full one is `make chaos`): 10 seeded faults under a recorded client
// workload on the test world; every fault heals, no acknowledged write is lost and porcupine finds
// the history linearizable. CHAOS_SEED picks the faults (default a fixed seed, so a failure repeats).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChaos } from '../chaos/chaos.ts';
import { markdown, report } from '../chaos/report.ts';
import { etcdVersion } from '../world/tools.ts';
import { startTestWorld, type TestWorld } from '../world/world.ts';

let world: TestWorld;

test.before(async () => {
  // pods on 127.61.x.y: apart from the 127.10.x.y of the other e2e files and of a `make up` world
  world = await startTestWorld({ podNet: 61 });
});
test.after(async () => {
  await world?.stop();
});

test('10 faults: every one heals, no acknowledged write lost, the history is linearizable', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? 20261130);
  const r = await runChaos(world, { faults: 10, seed, healTimeoutMs: 150_000, log: (l) => console.log(l) });
  console.log(markdown(report(r, etcdVersion())));
  const unhealed = r.faults.filter((f) => !f.healed).map((f) => `${f.kind} ${f.pods.join()}: ${f.error}`);
  assert.equal(unhealed, [], 'every fault healed');
  assert.is(r.faults.length, 10, 'all 10 faults ran');
  assert.is(r.readBackError, undefined, 'the acknowledged writes were read back');
  assert.equal(r.lost, [], 'no acknowledged write lost');
  assert.ok(r.ops.acked > 0, 'the workload made progress');
  assert.is(r.verdict.linearizable, true, `porcupine: ${JSON.stringify(r.verdict)}`);
});

test.run();
