// Which client URLs boot probes for a running cluster: heartbeats, pods and configured endpoints, but
// not the peers whose heartbeat says they bootstrap with a discovery round that is still open (their
// etcd accepts connections and answers nothing until the round is full).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { candidateEndpoints } from '../../internal/boot/observe.ts';
import { memberViews, observeCluster } from '../../internal/boot/cluster-view.ts';
import type { Heartbeat, RegistrySnapshot } from '../../internal/discovery/registry.ts';
import { fakeBoot } from '../fakes/boot.ts';
import { FakeCluster } from '../fakes/etcd.ts';

const beat = (name: string, host: string, extra: Partial<Heartbeat> = {}): Heartbeat => ({
  name,
  memberId: '',
  clusterId: '',
  peerUrl: `http://${host}:2380`,
  clientUrl: `http://${host}:2379`,
  at: '2026-11-30T00:00:00Z',
  ...extra,
});
const registered = (name: string, host: string, rev: number) => ({
  id: `${rev}`,
  name,
  peerUrls: [`http://${host}:2380`],
  createRevision: rev,
});

async function candidates(reg: RegistrySnapshot, pods?: { name: string; ip: string }[]): Promise<string[]> {
  const f = await fakeBoot({ name: 'etcd-2', 'advertise-host': '127.0.0.3' }, { cluster: new FakeCluster() });
  return candidateEndpoints(f.ctx.cfg, f.ctx.self, reg, pods as never).sort();
}

const open = (extra: Partial<RegistrySnapshot> = {}): RegistrySnapshot => ({
  size: 3,
  members: [registered('etcd-0', '127.0.0.1', 5)],
  heartbeats: [beat('etcd-0', '127.0.0.1', { bootstrapping: true }), beat('etcd-1', '127.0.0.2')],
  cluster: undefined,
  resets: 0,
  ...extra,
});

test('candidates: a bootstrapping peer of an open round is not probed, by its heartbeat or its pod', async () => {
  const pods = [
    { name: 'etcd-0', ip: '127.0.0.1' },
    { name: 'etcd-1', ip: '127.0.0.2' },
  ];
  assert.equal(await candidates(open(), pods), ['http://127.0.0.2:2379']);
});

test('candidates: once the round is full, or a cluster is recorded, every peer is probed again', async () => {
  const all = ['http://127.0.0.1:2379', 'http://127.0.0.2:2379'];
  const full = open({
    members: [
      registered('etcd-0', '127.0.0.1', 5),
      registered('etcd-1', '127.0.0.2', 6),
      registered('x', '127.0.0.9', 7),
    ],
  });
  assert.equal(await candidates(full), all);
  assert.equal(await candidates(open({ cluster: { clusterId: 'c1', at: '' } })), all);
});

test('candidates: a heartbeat with a member ID is a member of a cluster, whatever its mark says', async () => {
  const reg = open({ heartbeats: [beat('etcd-0', '127.0.0.1', { bootstrapping: true, memberId: 'a1' })] });
  assert.equal(await candidates(reg), ['http://127.0.0.1:2379']);
});

test('member views: a URL that just failed its HTTP look is not asked for its status again', async () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3]) c.addMember(n);
  const etcd = c.connect(['http://127.0.0.1:2379']);
  const members = (await etcd.memberList()).members;
  const asked = (await memberViews(etcd, members)).map((v) => v.healthy);
  const told = (await memberViews(etcd, members, new Set(['http://127.0.0.3:2379']))).map((v) => v.healthy);
  assert.equal(asked, [true, true, true]);
  assert.equal(told, [true, true, false], 'etcd-2 counts as silent without a status call');
});

test('observe: members no candidate named get the quick HTTP look too, and a silent one counts as unhealthy', async () => {
  const c = new FakeCluster();
  for (const n of [1, 2, 3]) c.addMember(n);
  c.members[2]!.healthy = false;
  const f = await fakeBoot({ name: 'etcd-4', 'advertise-host': '127.0.0.4' }, { cluster: c });
  const looked: string[] = [];
  const fetch: typeof c.fetch = (url, init) => {
    looked.push(url);
    return c.fetch(url, init);
  };
  const seen = await observeCluster({ ...f.ctx, fetch }, ['http://127.0.0.1:2379']);
  assert.equal(looked.sort(), [
    'http://127.0.0.1:2379/health',
    'http://127.0.0.2:2379/health',
    'http://127.0.0.3:2379/health',
  ]);
  assert.ok(seen.cluster.reachable && seen.cluster.members.map((m) => m.healthy).join() === 'true,true,false');
  assert.equal(seen.endpoints, ['http://127.0.0.1:2379', 'http://127.0.0.2:2379']);
});

test.run();
