// Proves the test world's etcd is real: a 3-member cluster on loopback, written and read through the
// etcd3 client, members listed with their loopback peer URLs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { startEtcd, startEtcdCluster, waitHealthy, type EtcdCluster } from '../world/etcd.ts';
import { etcdTool, etcdVersion } from '../world/tools.ts';
import { execFileSync } from 'node:child_process';

let cluster: EtcdCluster;

test.before(async () => {
  cluster = await startEtcdCluster({ size: 3 });
});
test.after(async () => {
  await cluster?.stop();
});

test('the etcd binary is the pinned release', () => {
  const out = execFileSync(etcdTool('etcd'), ['--version'], { encoding: 'utf8' });
  assert.match(out, `etcd Version: ${etcdVersion().slice(1)}`);
});

test('a key written through one member reads back through all of them', async () => {
  const writer = cluster.client();
  const key = `k-${Date.now()}`;
  await writer.put(key).value('v1');
  for (const m of cluster.members) {
    const c = new Etcd3({ hosts: m.clientUrl });
    try {
      assert.is(await c.get(key).string(), 'v1', `read through ${m.name}`);
    } finally {
      c.close();
    }
  }
});

test('the member list names the three members with their loopback peer URLs', async () => {
  const { members } = await cluster.client().cluster.memberList({ linearizable: true });
  const seen = members.map((m) => `${m.name}=${m.peerURLs.join(',')}`).sort();
  const want = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).sort();
  assert.equal(seen, want);
});

test('the cluster keeps serving writes with one member down, and the member comes back', async () => {
  const victim = cluster.members[2]!;
  victim.proc.kill('SIGKILL');
  await victim.proc.exited;
  const c = cluster.client();
  await c.put('after-kill').value('ok');
  assert.is(await c.get('after-kill').string(), 'ok');

  // restarted from its data dir (the WAL makes etcd ignore the initial-cluster flags) it catches up
  const again = await startEtcd({ name: victim.name, host: victim.host, dataDir: victim.dataDir });
  cluster.members[2] = again;
  await waitHealthy(again);
  const direct = new Etcd3({ hosts: again.clientUrl });
  try {
    assert.is(await direct.get('after-kill').string(), 'ok');
  } finally {
    direct.close();
  }
});

test.run();
