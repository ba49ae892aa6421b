// Restore on bootstrap (DEIS_ETCD_RESTORE_FROM) through fakes: the first member of a cluster with no
// members restores under the registry's lock and starts from the restored data (no discovery flags);
// a cluster with data ignores the setting with a warning; a refused snapshot stops boot with its error
// and nothing started.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { handlers, prepare, quietOf } from '../../internal/boot/act.ts';
import { look } from '../../internal/boot/observe.ts';
import { DeisError } from '../../internal/errors.ts';
import type { RestoreSource, RestoreTarget } from '../../internal/snapshot/restore.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { rejects } from '../helpers/rejects.ts';

const me0 = { name: 'etcd-0', 'advertise-host': '127.0.0.1', 'restore-from': 'latest', 'restore-dir': '/snap' };
const status = { hash: 1, revision: 42, totalKey: 7, totalSize: 20480, version: '3.6.0' };

async function emptyWorld(flags: Record<string, string> = me0) {
  const f = await fakeBoot(flags, { cluster: new FakeCluster() });
  await f.discovery.connect(['http://127.0.0.200:2381']).put('/_etcd/registry/tok/_config/size', '3');
  const calls: { src: RestoreSource; to: RestoreTarget }[] = [];
  f.ctx.restore = async (src, to) => {
    calls.push({ src, to });
    return { file: '/snap/deis-etcd-20261130T114207Z.db', size: 20512, status };
  };
  return { f, calls };
}

test('no members anywhere: the first member restores under the lock and starts from the data alone', async () => {
  const { f, calls } = await emptyWorld();
  const start = await prepare(f.ctx);
  assert.is(start?.plan, 'restart');
  assert.equal(start?.args, [], 'no discovery flags: etcd starts from the restored WAL');
  assert.is(calls.length, 1);
  const { env: _env, ...src } = calls[0]!.src;
  assert.equal(src, { from: 'latest', dir: '/snap', s3: undefined, prefix: 'deis-etcd', etcdutl: 'etcdutl' });
  assert.equal(calls[0]!.to, {
    name: 'etcd-0',
    peerUrl: 'http://127.0.0.1:2380',
    dataDir: '/data',
    clusterToken: 'deis-etcd-etcd',
  });
  assert.ok(
    f.discovery.calls.some((c) => c.startsWith('lock ')),
    'under the registry lock',
  );
  const line = f.log.entries.find((e) => e.msg === 'snapshot restored: this member starts alone, the others join it');
  assert.is(line?.revision, 42);
  assert.match(f.ctx.metrics.render(), 'deis_etcd_membership_changes_total{kind="restore"} 1');
  assert.ok(f.discovery.kv.has('/_etcd/registry/tok/status/etcd-0'), 'heartbeat written: the others join me');
});

test('another member holds the lock (it restores): nothing restored here, look again shortly', async () => {
  const { f, calls } = await emptyWorld();
  f.discovery.heldLocks.add('/_etcd/registry/tok/_deis/lock');
  const loop = { round: 0, quietSince: undefined, stuckSince: undefined };
  const { seen, plan } = await look(f.ctx, quietOf(f.ctx, loop));
  assert.is(plan.kind, 'bootstrap');
  const step = await handlers.bootstrap(f.ctx, plan as Extract<typeof plan, { kind: 'bootstrap' }>, seen, loop);
  assert.equal(step, { kind: 'again', sleepMs: 1000 });
  assert.is(calls.length, 0);
});

test('another member restored already (its heartbeat, its etcd not up yet): no second restore, look again', async () => {
  const { f, calls } = await emptyWorld({ ...me0, name: 'etcd-1', 'advertise-host': '127.0.0.2' });
  // what the first restorer leaves once it released the lock: its heartbeat, and no registered cluster
  const hb = { name: 'etcd-0', clientUrl: 'http://127.0.0.1:2379', peerUrl: 'http://127.0.0.1:2380' };
  await f.discovery.connect(['http://127.0.0.200:2381']).put('/_etcd/registry/tok/status/etcd-0', JSON.stringify(hb));
  const loop = { round: 0, quietSince: undefined, stuckSince: undefined };
  const { seen, plan } = await look(f.ctx, quietOf(f.ctx, loop));
  assert.is(plan.kind, 'bootstrap', 'the decision alone would bootstrap: no cluster answers, none recorded');
  const step = await handlers.bootstrap(f.ctx, plan as Extract<typeof plan, { kind: 'bootstrap' }>, seen, loop);
  assert.equal(step, { kind: 'again', sleepMs: 1000 });
  assert.is(calls.length, 0, 'no second restore: that would be a second cluster');
});

test('a refused snapshot stops boot with its one-line error; nothing starts', async () => {
  const { f } = await emptyWorld();
  f.ctx.restore = async () => {
    throw new DeisError('environment', 'snapshot /snap/x.db is not usable: its sha256 does not match');
  };
  await rejects(prepare(f.ctx), /sha256 does not match/);
});

test('a cluster with members: the setting is ignored with one warning and the member joins', async () => {
  const cluster = new FakeCluster();
  for (const n of [1, 2, 3]) cluster.addMember(n);
  cluster.members = cluster.members.filter((m) => m.id !== '3');
  const f = await fakeBoot({ ...me0, name: 'etcd-2', 'advertise-host': '127.0.0.3' }, { cluster });
  let restored = 0;
  f.ctx.restore = async () => {
    restored++;
    throw new Error('must not be called');
  };
  const start = await prepare(f.ctx);
  assert.is(start?.plan, 'join');
  assert.is(restored, 0);
  assert.is(f.log.entries.filter((e) => e.msg === 'restore ignored: the cluster already has data').length, 1);
});

test.run();
