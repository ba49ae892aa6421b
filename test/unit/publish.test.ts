// The lost-publish watch of a joining member (internal/boot/publish.ts), step by step against the
// fake cluster: how long each health look may take, and when a lost publish is declared.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PublishWatch } from '../../internal/boot/publish.ts';
import type { DeisError } from '../../internal/errors.ts';
import { JoinWatchdog } from '../../internal/boot/watchdog.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { rejects } from '../helpers/rejects.ts';

const join = { plan: 'join' as const, args: [], endpoints: ['http://127.0.0.1:2379'], memberId: '4' };

/** Three voters that have applied up to 20, and learner 4, listed as published (name and client URLs set). */
async function world() {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n, { applied: 20 });
  // its metrics answer (it runs), its client port does not (not published)
  cluster.addMember(4, { isLearner: true, healthy: false, applied: 20 });
  return fakeBoot({ name: 'etcd-3', 'advertise-host': '127.0.0.4' }, { cluster });
}
const watchOf = (f: Awaited<ReturnType<typeof world>>) => new PublishWatch(f.ctx, join, new JoinWatchdog(f.ctx));

test('looks: a learner whose etcd runs gets looks no longer than the grace; before that, and outside a join, the given look', async () => {
  const f = await world();
  const w = watchOf(f);
  assert.is(await w.beforeLook(undefined, 1000), 1000, "etcd's metrics do not answer yet");
  assert.is(await w.beforeLook(0, 1000), 150, 'etcd runs, nothing received yet');
  assert.is(await w.beforeLook(10, 1000), 150, 'catching up');
  assert.is(await w.beforeLook(10, 100), 100, 'never longer than the given look');
  const restart = new PublishWatch(f.ctx, { ...join, plan: 'restart' }, new JoinWatchdog(f.ctx));
  assert.is(await restart.beforeLook(10, 1000), 1000);
});

test('lost: declared once the learner has applied as far as the voters and a look of the grace found it not serving', async () => {
  const f = await world();
  const w = watchOf(f);
  await w.beforeLook(10, 1000);
  f.clock.advance(1000);
  await w.afterFailedLook(10); // behind the voters' 20: still catching up
  await w.beforeLook(20, 1000); // caught up now
  f.clock.advance(100);
  await w.afterFailedLook(20); // 100 ms: within the grace
  f.clock.advance(50);
  const err = await rejects(w.afterFailedLook(20), /applied index 20 or later .* does not serve 150 ms later/);
  assert.is((err as DeisError).reason, 'publish-lost');
});

test('lost: an etcd whose metrics do not answer (paused, starved) is never declared lost, however long it goes', async () => {
  const f = await world();
  const w = watchOf(f);
  await w.beforeLook(20, 1000);
  f.clock.advance(60_000);
  w.promotedAt = f.clock.now() - 30_000;
  await w.afterFailedLook(undefined);
});

test('lost: an etcd paused between the metrics read and the look is no lost publish (the join watchdog gives it up)', async () => {
  const f = await world();
  const w = watchOf(f);
  await w.beforeLook(20, 1000); // caught up
  f.clock.advance(150);
  f.cluster.members[3]!.applied = undefined; // paused: its metrics listener stops answering
  await w.afterFailedLook(20);
  f.cluster.members[3]!.applied = 20; // it answers again, and still does not serve
  await rejects(w.afterFailedLook(20), /does not serve/);
});

test.run();
