// The boot's time breakdown: phases sum over repeats, count a rejected call too, start at the
// process's start when given, and a join records its observe, lock, removal and add phases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepare } from '../../internal/boot/act.ts';
import { Phases } from '../../internal/boot/phases.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { fakeClock } from '../fakes/clock.ts';

test('phases: repeats sum, a rejection still counts, the runtime phase runs from the process start', async () => {
  const clock = fakeClock(1000);
  const p = new Phases(clock, 400);
  await p.time('observe.etcd', async () => clock.advance(30));
  await p.time('observe.etcd', async () => clock.advance(20));
  await p
    .time('add', async () => {
      clock.advance(7);
      throw new Error('refused');
    })
    .catch(() => undefined);
  p.add('lock', 3);
  assert.equal(p.summary(), { runtime: 600, 'observe.etcd': 50, add: 7, lock: 3, total: 657 });
});

test('phases: without a process start, the total runs from the context', () => {
  const clock = fakeClock(5);
  const p = new Phases(clock);
  clock.advance(12);
  assert.equal(p.summary(), { total: 12 });
});

test('a join records where its time went: observing each source, deciding, the lock, the removal, the add', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n);
  cluster.members[2]!.healthy = false;
  const f = await fakeBoot({ name: 'etcd-2', 'advertise-host': '127.0.0.3' }, { cluster });
  await prepare(f.ctx);
  const seen = Object.keys(f.ctx.phases.summary()).sort();
  for (const phase of [
    'identity',
    'observe.data',
    'observe.registry',
    'observe.etcd',
    'decide',
    'lock',
    'remove',
    'add',
  ])
    assert.ok(seen.includes(phase), `${phase} in ${seen.join()}`);
});

test.run();
