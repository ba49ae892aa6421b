// boot's /metrics series for operators and the alert rules: histograms in Prometheus' text format,
// the heal duration the leader observes, the quorum gauge and the Events counter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { healPass } from '../../internal/boot/heal.ts';
import { bootMetrics } from '../../internal/boot/metrics.ts';
import { checkQuorum } from '../../internal/boot/recover.ts';
import { Metrics } from '../../internal/server/server.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { FakeKube } from '../fakes/kube.ts';

test('histogram: cumulative buckets with +Inf, sum and count, per label set', () => {
  const m = new Metrics();
  m.declareHistogram('x_seconds', 'help text', [1, 5]);
  m.observe('x_seconds', 0.5, { kind: 'a' });
  m.observe('x_seconds', 3, { kind: 'a' });
  m.observe('x_seconds', 9, { kind: 'a' });
  assert.is(
    m.render(),
    [
      '# HELP x_seconds help text',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{kind="a",le="1"} 1',
      'x_seconds_bucket{kind="a",le="5"} 2',
      'x_seconds_bucket{kind="a",le="+Inf"} 3',
      'x_seconds_sum{kind="a"} 12.5',
      'x_seconds_count{kind="a"} 3',
      '',
    ].join('\n'),
  );
  assert.throws(() => m.observe('nope', 1), /not declared/);
});

test('heal: the leader observes the time from first seeing a pod gone to the removal', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n);
  cluster.addMember(4, { name: 'etcd-3', healthy: false });
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1', 'pod-gone-grace': '30' }, { cluster });
  f.ctx.member.id = '1';
  const state = { goneSince: new Map<string, number>() };
  await healPass(f.ctx, state);
  f.clock.advance(31_000);
  await healPass(f.ctx, state);
  const text = f.ctx.metrics.render();
  assert.match(text, /^deis_etcd_heal_duration_seconds_bucket\{le="30"\} 0$/m);
  assert.match(text, /^deis_etcd_heal_duration_seconds_bucket\{le="60"\} 1$/m);
  assert.match(text, /^deis_etcd_heal_duration_seconds_sum 31$/m);
  assert.match(text, /^deis_etcd_membership_changes_total\{kind="remove"\} 1$/m);
  assert.match(text, /^deis_etcd_events_total\{reason="MemberRemoved"\} 1$/m);
});

test('quorum gauge: 1 with a leader, 0 without', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n);
  const f = await fakeBoot({ name: 'etcd-0', 'advertise-host': '127.0.0.1' }, { cluster, kube: FakeKube.withPods(3) });
  f.ctx.member.id = '1';
  const state = { lostSince: undefined, said: '' };
  await checkQuorum(f.ctx, state);
  assert.match(f.ctx.metrics.render(), /^deis_etcd_quorum 1$/m);
  for (const m of cluster.members) if (m.id !== '1') m.healthy = false;
  await checkQuorum(f.ctx, state);
  assert.match(f.ctx.metrics.render(), /^deis_etcd_quorum 0$/m);
});

test('boot phases: a histogram per phase on /metrics, buckets from 10 ms to 30 s', () => {
  const m = bootMetrics();
  m.phases({ runtime: 8, 'observe.etcd': 420, add: 1500, total: 2100 });
  m.phases({ runtime: 30, total: 700 });
  const text = m.render();
  assert.match(text, /^# TYPE deis_etcd_boot_phase_seconds histogram$/m);
  assert.not.match(text, /^# TYPE deis_etcd_boot_phase_seconds gauge$/m);
  const line = (phase: string, le: string) =>
    new RegExp(
      `^deis_etcd_boot_phase_seconds_bucket\\{phase="${phase}",le="${le.replace('+', '\\+')}"\\} (\\d+)$`,
      'm',
    ).exec(text)?.[1];
  assert.is(line('runtime', '0.01'), '1', 'the 8 ms start in the first bucket');
  assert.is(line('runtime', '0.05'), '2');
  assert.is(line('observe.etcd', '0.25'), '0');
  assert.is(line('observe.etcd', '0.5'), '1');
  assert.is(line('add', '1'), '0');
  assert.is(line('add', '2.5'), '1');
  assert.is(line('total', '1'), '1');
  assert.is(line('total', '30'), '2');
  assert.is(line('total', '+Inf'), '2');
  assert.match(text, /^deis_etcd_boot_phase_seconds_count\{phase="total"\} 2$/m);
  assert.match(text, /^deis_etcd_boot_phase_seconds_sum\{phase="total"\} 2\.8$/m);
});

test.run();
