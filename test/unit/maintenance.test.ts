// The leader's maintenance: the pure plan (who is defragmented, in which order, when it must wait) as a
// table, and the pass over a fake cluster (compaction, defragmentation, disarming, metrics, logs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planMaintenance, type DbView, type RaisedAlarm } from '../../internal/membership/maintenance.ts';
import { maintenancePass, snapshotMetrics } from '../../internal/boot/maintenance.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { fakeBoot } from '../fakes/boot.ts';

const MIB = 1024 * 1024;
const view = (id: string, dbMib: number, inUseMib: number, more: Partial<DbView> = {}): DbView => ({
  id,
  name: `etcd-${Number(id) - 1}`,
  healthy: true,
  isLearner: false,
  dbSize: dbMib * MIB,
  dbSizeInUse: inUseMib * MIB,
  ...more,
});
const policy = { thresholdPct: 50, minBytes: 64 * MIB };
const nospace = (id: string): RaisedAlarm => ({ memberId: id, alarm: 'NOSPACE' });

const rows: {
  name: string;
  views: DbView[];
  alarms?: RaisedAlarm[];
  pol?: typeof policy;
  want: string;
}[] = [
  { name: 'all compact: nothing to do', views: [view('1', 100, 90), view('2', 100, 90)], want: 'none' },
  {
    name: 'a fragmented follower is defragmented, alone',
    views: [view('1', 100, 10), view('2', 100, 40), view('3', 100, 30)],
    want: 'defrag 2:fragmented',
  },
  {
    name: 'the leader last: only the leader fragmented',
    views: [view('1', 200, 10), view('2', 100, 90)],
    want: 'defrag 1:fragmented',
  },
  {
    name: 'below the minimum size the share does not count',
    views: [view('1', 10, 1), view('2', 63, 1)],
    want: 'none',
  },
  {
    name: 'a threshold of 0 turns it off',
    views: [view('2', 100, 1)],
    pol: { thresholdPct: 0, minBytes: 0 },
    want: 'none',
  },
  {
    name: 'a missing member: wait',
    views: [view('1', 100, 90), view('2', 100, 10), view('3', 0, 0, { healthy: false })],
    want: 'wait member etcd-2 does not answer',
  },
  {
    name: 'a learner catching up: wait',
    views: [view('1', 100, 90), view('2', 100, 10), view('3', 1, 1, { isLearner: true })],
    want: 'wait learner etcd-2 is catching up',
  },
  {
    name: 'NOSPACE: compact, every member followers first, then disarm; any size',
    views: [view('1', 2, 2), view('3', 2, 2), view('2', 2, 2)],
    alarms: [nospace('1'), nospace('3')],
    want: 'compact defrag 2:nospace,3:nospace,1:nospace disarm 1,3',
  },
  {
    name: 'NOSPACE with a member missing: wait',
    views: [view('1', 2, 2), view('2', 2, 2, { healthy: false })],
    alarms: [nospace('1')],
    want: 'wait member etcd-1 does not answer',
  },
  {
    name: 'CORRUPT: a person must look',
    views: [view('1', 100, 1)],
    alarms: [{ memberId: '1', alarm: 'CORRUPT' }, nospace('1')],
    want: 'wait CORRUPT alarm raised on member 1',
  },
];

for (const r of rows) {
  test(`plan: ${r.name}`, () => {
    const p = planMaintenance(r.views, '1', r.alarms ?? [], r.pol ?? policy);
    const got =
      p.kind === 'none'
        ? 'none'
        : p.kind === 'wait'
          ? `wait ${p.why}`
          : [
              p.compact ? 'compact' : '',
              `defrag ${p.steps.map((s) => `${s.id}:${s.why}`).join(',')}`,
              p.disarm.length ? `disarm ${p.disarm.map((a) => a.memberId).join(',')}` : '',
            ]
              .filter(Boolean)
              .join(' ');
    assert.is(got, r.want);
  });
}

const cluster3 = () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3]) c.addMember(n, { dbSize: 2 * MIB, dbSizeInUse: MIB });
  c.rev = 42;
  return c;
};
const leader = { name: 'etcd-0', 'advertise-host': '127.0.0.1' };

test('pass: NOSPACE is compacted, each member defragmented followers first, then disarmed; logged and counted', async () => {
  const cluster = cluster3();
  cluster.alarms = [nospace('2')];
  const f = await fakeBoot(leader, { cluster });
  f.ctx.member.id = '1';
  const out = await maintenancePass(f.ctx);
  assert.equal(cluster.calls, ['compact 42', 'defrag 2', 'defrag 3', 'defrag 1', 'disarm 2 NOSPACE']);
  assert.equal(out?.disarmed, ['2']);
  assert.equal(cluster.alarms, []);
  const m = f.ctx.metrics.render();
  assert.match(m, 'deis_etcd_defrags_total{reason="nospace"} 3');
  assert.match(m, 'deis_etcd_alarms_disarmed_total{alarm="NOSPACE"} 1');
  assert.match(m, 'deis_etcd_alarms{alarm="NOSPACE"} 1');
  assert.ok(f.log.entries.some((e) => e.msg === 'alarm disarmed' && e.memberId === '2'));
  assert.is(f.log.entries.filter((e) => e.msg === 'member defragmented').length, 3);
  await f.ctx.events.flush();
  assert.equal(f.kube!.events.list(), [
    'Defragmented Pod/etcd-1',
    'Defragmented Pod/etcd-2',
    'Defragmented Pod/etcd-0',
    'AlarmDisarmed StatefulSet/etcd',
  ]);
});

test('pass: a follower does nothing, even under NOSPACE', async () => {
  const cluster = cluster3();
  cluster.alarms = [nospace('1')];
  const f = await fakeBoot({ name: 'etcd-1', 'advertise-host': '127.0.0.2' }, { cluster });
  f.ctx.member.id = '2';
  assert.is(await maintenancePass(f.ctx), undefined);
  assert.equal(cluster.calls, []);
});

test('pass: NOSPACE with a member down waits and says why; nothing is touched', async () => {
  const cluster = cluster3();
  cluster.members[2]!.healthy = false;
  cluster.alarms = [nospace('1')];
  const f = await fakeBoot(leader, { cluster });
  f.ctx.member.id = '1';
  const out = await maintenancePass(f.ctx);
  assert.is(out?.plan, 'wait');
  assert.equal(cluster.calls, []);
  assert.ok(f.log.entries.some((e) => e.msg === 'maintenance waits'));
});

test('pass: a fragmented follower is defragmented once per pass, then nothing is due', async () => {
  const cluster = cluster3();
  cluster.members[1]!.dbSize = 100 * MIB;
  cluster.members[1]!.dbSizeInUse = 10 * MIB;
  const f = await fakeBoot({ ...leader, 'defrag-min-size': '64' }, { cluster });
  f.ctx.member.id = '1';
  assert.equal((await maintenancePass(f.ctx))?.defragmented, ['2']);
  assert.equal((await maintenancePass(f.ctx))?.plan, 'none');
  assert.equal(cluster.calls, ['defrag 2']);
  assert.match(f.ctx.metrics.render(), 'deis_etcd_defrags_total{reason="fragmented"} 1');
});

test('pass: a member that stops answering mid-way stops the pass before its defragmentation', async () => {
  const cluster = cluster3();
  cluster.alarms = [nospace('1')];
  const f = await fakeBoot(leader, { cluster });
  f.ctx.member.id = '1';
  const real = cluster.connect;
  // member 3 (the second step) goes away right after the first defragmentation
  cluster.connect = (eps) => {
    const c = real(eps);
    return {
      ...c,
      defragment: async (url) => {
        await c.defragment(url);
        cluster.members[2]!.healthy = false;
      },
    };
  };
  f.ctx.local.client = undefined;
  let failed = false;
  await maintenancePass(f.ctx).catch(() => {
    failed = true;
  });
  assert.ok(failed);
  assert.equal(cluster.calls, ['compact 42', 'defrag 2']);
  assert.equal(cluster.alarms, [nospace('1')], 'not disarmed');
});

test('snapshot metrics: the count and the newest snapshot time of the prefix in --restore-dir', async () => {
  const f = await fakeBoot({ ...leader, 'restore-dir': '/snap' }, { cluster: cluster3() });
  for (const n of ['deis-etcd-20261130T100000Z.db', 'deis-etcd-20261130T110000Z.db', 'other-20261130T120000Z.db'])
    await f.files.write(`/snap/${n}`, 'x');
  await snapshotMetrics(f.ctx);
  const m = f.ctx.metrics.render();
  assert.match(m, 'deis_etcd_snapshots 2');
  assert.match(m, `deis_etcd_last_snapshot_timestamp_seconds ${Date.UTC(2026, 10, 30, 11) / 1000}`);
});

test.run();
