// boot against real etcd 3.6 and our discovery program, without Kubernetes: three boots bootstrap a
// cluster; a member killed with -9 and replaced with an empty data dir (and a new IP) comes back with
// no stale member; a restart from the data dir keeps the member ID (and updates a changed IP); a crash
// between member add and etcd start heals on the next start. Past 5000 raft entries every joiner gets a
// snapshot, which often holds its first publish: boot restarts such an etcd once, as the same member.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import {
  replaceBoot,
  startBoot,
  startDiscovery,
  waitReady,
  type BootProcess,
  type DiscoveryProcess,
} from '../world/programs.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { freeAddress } from '../world/net.ts';

const logDir = tempDir();
let disc: DiscoveryProcess;
const boots: BootProcess[] = [];

function client(): Etcd3 {
  return new Etcd3({ hosts: boots.filter((b) => b.proc.running()).map((b) => b.clientUrl), dialTimeout: 2000 });
}

async function members() {
  const c = client();
  try {
    return (await within(5000, 'member list', c.cluster.memberList({ linearizable: true }))).members;
  } finally {
    c.close();
  }
}

/** Waits until the cluster's members are exactly our running boots, each a voter at its peer URL. */
async function converged(): Promise<void> {
  await waitFor(
    'the member list to match the running boots',
    async () => {
      const ms = await members();
      const want = boots.map((b) => `${b.name}=${b.peerUrl}`).sort();
      const got = ms.map((m) => `${m.name}=${m.peerURLs.join(',')}${m.isLearner ? ' (learner)' : ''}`).sort();
      last = got;
      return JSON.stringify(want) === JSON.stringify(got);
    },
    60_000,
    500,
  ).catch((err) => {
    throw new Error(`${String(err)}; last seen ${JSON.stringify(last)}`);
  });
}
let last: string[] = [];

test.before(async () => {
  disc = await startDiscovery({ size: 3, logDir });
});
test.after(async () => {
  await Promise.all(boots.map((b) => b.proc.stop()));
  await disc?.proc.stop();
});

test('three boots bootstrap one cluster through the discovery service', async () => {
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) boots.push(await startBoot({ name, discovery: disc, logDir }));
  await Promise.all(boots.map((b) => waitReady(b)));
  await converged();
  const c = client();
  try {
    await within(5000, 'put', c.put('survives').value('yes').exec());
    const ids = new Set<string>();
    for (const b of boots) {
      const one = new Etcd3({ hosts: b.clientUrl });
      ids.add((await within(5000, 'status', one.maintenance.status())).header.cluster_id);
      one.close();
    }
    assert.is(ids.size, 1, 'one cluster ID');
  } finally {
    c.close();
  }
  const metrics = await (await fetch(`${disc.httpUrl}/metrics`)).text();
  assert.match(metrics, /deis_etcd_discovery_live_heartbeats 3/);
});

test('kill -9 a member, replace it with an empty data dir at a new IP: 3 members, no stale one', async () => {
  boots[2] = (await replaceBoot(boots[2]!, { discovery: disc, logDir })).boot;
  await waitReady(boots[2]);
  await converged();
  const c = client();
  try {
    assert.is(await within(5000, 'get', c.get('survives').string()), 'yes');
  } finally {
    c.close();
  }
});

/** The JSON log entries of one boot with this message. */
function entries(b: BootProcess, msg: string): Record<string, unknown>[] {
  return b.proc
    .log()
    .split('\n')
    .flatMap((line) => {
      try {
        const e = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
        return e.msg === msg ? [e] : [];
      } catch {
        return [];
      }
    });
}

test('past 5000 raft entries (every joiner gets a snapshot): three replacements heal with every key; a lost first publish restarts etcd once, as the same member', async () => {
  const c = client();
  try {
    // one raft entry per put: etcd 3.6 keeps 5000 entries behind its in-memory snapshot
    for (let i = 0; i < 5200; i += 100)
      await within(
        10_000,
        'puts',
        Promise.all(Array.from({ length: 100 }, (_, j) => c.put(`bulk/${i + j}`).value('v'))),
      );
  } finally {
    c.close();
  }
  let lost = 0;
  for (const idx of [0, 1, 2]) {
    const b = (await replaceBoot(boots[idx]!, { discovery: disc, logDir })).boot;
    boots[idx] = b;
    await waitReady(b);
    await converged();
    const restarts = entries(b, 'restarting etcd once: its first publish was lost');
    assert.ok(restarts.length <= 1, 'etcd restarted at most once');
    lost += restarts.length;
    const added = entries(b, 'member added').map((e) => e.memberId);
    const ready = entries(b, 'member ready').map((e) => e.memberId);
    assert.equal(ready, added, 'ready as the member it added (the restart kept its data dir)');
    // etcd logs this only when its publish timed out (7 s): boot restarts it before
    assert.not.match(b.proc.log(), /failed to publish local member to cluster through raft/);
  }
  const check = client();
  try {
    assert.is(await within(5000, 'count', check.getAll().prefix('bulk/').count()), 5200);
    assert.is(await within(5000, 'get', check.get('survives').string()), 'yes');
  } finally {
    check.close();
  }
  console.log(`  lost first publishes: ${lost} of 3 replacements`);
});

test('a restart from the data dir keeps the member ID; a changed IP updates the peer URL', async () => {
  const b = boots[1]!;
  const before = (await members()).find((m) => m.name === b.name)!.ID;
  assert.is(await b.proc.stop(), 0, 'a SIGTERM stop exits 0');
  boots[1] = await startBoot({
    name: b.name,
    discovery: disc,
    logDir,
    dataDir: b.dataDir,
    host: await freeAddress([2379, 2380, 8080]),
  });
  await waitReady(boots[1]);
  await converged();
  assert.is((await members()).find((m) => m.name === b.name)!.ID, before, 'same member ID');
});

test('a crash between member add and etcd start heals on the next start', async () => {
  const victim = boots[0]!;
  victim.proc.kill('SIGKILL');
  await victim.proc.exited;
  // what a boot that crashed right after its member add leaves behind: its previous incarnation
  // removed (etcd refuses any add while a voter is down) and an unstarted learner at its URL
  const host = await freeAddress([2379, 2380, 8080]);
  const c = new Etcd3({ hosts: boots.slice(1).map((b) => b.clientUrl) });
  try {
    const old = (await within(5000, 'member list', c.cluster.memberList({}))).members.find(
      (m) => m.name === victim.name,
    )!;
    await waitFor(
      'the old member removed',
      () => within(5000, 'member remove', c.cluster.memberRemove({ ID: old.ID })).then(() => true),
      30_000,
      500,
    );
    await waitFor(
      'the learner add to be accepted',
      () =>
        within(5000, 'member add', c.cluster.memberAdd({ peerURLs: [`http://${host}:2380`], isLearner: true })).then(
          () => true,
        ),
      30_000,
      500,
    );
  } finally {
    c.close();
  }
  boots[0] = await startBoot({ name: victim.name, discovery: disc, logDir, host });
  await waitReady(boots[0]);
  await converged();
  assert.match(boots[0].proc.log(), /reusing my earlier add/);
});

test.run();
