// The discovery program against real etcd 3.6: stock etcd members bootstrap through it with nothing
// but --discovery-token/--discovery-endpoints; a member beyond the size is refused as etcd documents;
// the registry, heartbeats and metrics read back; a restart keeps the registry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { startEtcd, clusterOf, type EtcdCluster } from '../world/etcd.ts';
import { startDiscovery, type DiscoveryProcess } from '../world/programs.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { connectEtcd } from '../../internal/etcd/client.ts';
import { Registry } from '../../internal/discovery/registry.ts';

let disc: DiscoveryProcess;
let cluster: EtcdCluster;
const logDir = tempDir();

test.before(async () => {
  disc = await startDiscovery({ size: 3, logDir });
});
test.after(async () => {
  await cluster?.stop();
  await disc?.proc.stop();
});

test('the size key is seeded before any member asks', async () => {
  const c = new Etcd3({ hosts: disc.endpoint });
  try {
    assert.is(await c.get(`/_etcd/registry/${disc.token}/_config/size`).string(), '3');
  } finally {
    c.close();
  }
});

test('three stock etcd members form one cluster through the discovery service', async () => {
  const flags = ['--discovery-token', disc.token, '--discovery-endpoints', disc.endpoint];
  const members = await Promise.all(['m0', 'm1', 'm2'].map((name) => startEtcd({ name, logDir, args: flags })));
  cluster = await clusterOf(members, 60_000);
  const c = cluster.client();
  const { members: listed } = await c.cluster.memberList({});
  assert.equal(listed.map((m) => m.name).sort(), ['m0', 'm1', 'm2']);
  await c.put('hello').value('world');
  assert.is(await c.get('hello').string(), 'world');
});

test("the registry holds the three registrations in etcd's format", async () => {
  const etcd = connectEtcd({ endpoints: [disc.endpoint] });
  try {
    const regs = await new Registry(etcd, disc.token).members();
    assert.is(regs.length, 3);
    for (const r of regs) {
      const m = cluster.members.find((x) => x.name === r.name);
      assert.ok(m, `registration ${r.name} is one of ours`);
      assert.equal(r.peerUrls, [m!.peerUrl]);
      assert.match(r.id, /^[0-9a-f]+$/);
    }
  } finally {
    etcd.close();
  }
});

test('a fourth stock member is refused because the registry is full', async () => {
  const extra = await startEtcd({
    name: 'm3',
    logDir,
    args: ['--discovery-token', disc.token, '--discovery-endpoints', disc.endpoint],
  });
  // a member that hangs instead of exiting fails here too: no answer within 30 s is an error
  const code = await within(30_000, 'the fourth member to exit', extra.proc.exited).finally(() => extra.proc.kill());
  assert.is(code, 1, `etcd exits 1 on a failed discovery; its log:\n${extra.proc.log().slice(-2000)}`);
  assert.match(extra.proc.log(), /discovery failed.*cluster is full|cluster is full.*discovery failed/i);
});

test('metrics report the registered members and etcd up', async () => {
  const text = await (await fetch(`${disc.httpUrl}/metrics`)).text();
  assert.match(text, /deis_etcd_discovery_etcd_up 1/);
  assert.match(text, /deis_etcd_discovery_registered_members 3/);
});

test('a restarted discovery service keeps its registry (data dir on a volume)', async () => {
  await disc.proc.stop();
  disc = await startDiscovery({ size: 3, logDir, token: disc.token, dataDir: disc.dataDir, host: disc.host });
  const etcd = connectEtcd({ endpoints: [disc.endpoint] });
  try {
    const snap = await new Registry(etcd, disc.token).snapshot();
    assert.is(snap.size, 3);
    assert.is(snap.members.length, 3);
  } finally {
    etcd.close();
  }
  await waitFor('readyz', async () => (await fetch(`${disc.httpUrl}/readyz`)).ok);
});

test.run();
