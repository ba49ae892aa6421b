// Restore into a new cluster against real etcd and the real programs (no Kubernetes): a snapshot
// program run keeps a snapshot of a cluster; a new cluster of three boots with
// DEIS_ETCD_RESTORE_FROM=latest forms around the first member's restore, the others join it, and every
// key written before the snapshot is back. A corrupted or truncated snapshot, or an unknown name, stops
// boot with one line and exit 3 before the data dir is touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcdCluster } from '../world/etcd.ts';
import {
  programEnv,
  runToExit,
  startBoot,
  startDiscovery,
  waitReady,
  type BootProcess,
  type DiscoveryProcess,
} from '../world/programs.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { etcdTool } from '../world/tools.ts';

const logDir = tempDir();
const snapDir = tempDir();
const boots: BootProcess[] = [];
const discs: DiscoveryProcess[] = [];
const keys = 200;
let snapshot = '';

test.before(async () => {
  const old = await startEtcdCluster({ size: 3 });
  try {
    const c = old.client();
    for (let i = 0; i < keys; i++) await c.put(`k${i}`).value(`value-${i}`);
    const r = await runToExit(
      'snapshot',
      'snapshot',
      [],
      programEnv({
        DEIS_ETCD_ENDPOINTS: old.endpoints.join(','),
        DEIS_ETCD_DIR: snapDir,
        DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
      }),
      logDir,
    );
    if (r.code !== 0) throw new Error(`snapshot failed: ${r.log}`);
    await c.put('after-snapshot').value('not in the snapshot');
  } finally {
    await old.stop();
  }
  snapshot = readdirSync(snapDir).find((n) => n.endsWith('.db'))!;
});
test.after(async () => {
  await Promise.all(boots.map((b) => b.proc.stop()));
  await Promise.all(discs.map((d) => d.proc.stop()));
});

const restoreEnv = (from: string) => ({
  DEIS_ETCD_RESTORE_FROM: from,
  DEIS_ETCD_RESTORE_DIR: snapDir,
  DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
});

// This test once failed in the integration@3.7 pass on a loaded machine (all three boots Ready, the
// member list not three voters). A cause found in the code (not seen in that run's logs, which were
// not kept): a second member could restore too, between the first one's release of the registry lock
// and its etcd answering, and form a second one-member cluster; fixed in act.ts (another member's
// heartbeat under the lock means it restored; unit: restore.test.ts). On failure it prints the members
// and each boot's membership lines.
test('a new cluster restores the latest snapshot: every key is back, three voters', async () => {
  const disc = await startDiscovery({ size: 3, logDir });
  discs.push(disc);
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2'])
    boots.push(await startBoot({ name, discovery: disc, logDir, env: restoreEnv('latest') }));
  await Promise.all(boots.map((b) => waitReady(b, 120_000)));
  const c = new Etcd3({ hosts: boots.map((b) => b.clientUrl), dialTimeout: 2000 });
  try {
    let seen = '';
    await waitFor(
      'three voters',
      async () => {
        const { members } = await within(5000, 'member list', c.cluster.memberList({ linearizable: true }));
        seen = members.map((m) => `${m.name || '(unstarted)'}:${m.ID}${m.isLearner ? ':learner' : ''}`).join(' ');
        return members.length === 3 && members.every((m) => !m.isLearner);
      },
      90_000,
      500,
    ).catch((err: unknown) => {
      // which members, and what each boot said about joining, for the failure message
      const said = boots.map((b) =>
        b.proc
          .log()
          .split('\n')
          .filter(
            (l) => /decided|member added|promot|removed|restor|stall|exiting/.test(l) && !l.includes('"msg":"etcd"'),
          )
          .slice(-12)
          .join('\n'),
      );
      throw new Error(`${String(err)}; members: ${seen}\n${said.join('\n---\n')}`);
    });
    const got = await c.getAll().prefix('k').strings();
    assert.is(Object.keys(got).length, keys);
    for (let i = 0; i < keys; i++) assert.is(got[`k${i}`], `value-${i}`);
    assert.is(await c.get('after-snapshot').string(), null, 'a write after the snapshot is not there');
  } finally {
    c.close();
  }
  const restorers = boots.filter((b) => b.proc.log().includes('"msg":"snapshot restored'));
  assert.is(restorers.length, 1, 'exactly one member restored');
});

const badRows: { name: string; make: () => string; want: RegExp }[] = [
  {
    name: 'a truncated snapshot',
    make: () => {
      const p = join(tempDir(), 'truncated.db');
      const buf = readFileSync(join(snapDir, snapshot));
      writeFileSync(p, buf.subarray(0, buf.length - 1000));
      return p;
    },
    want: /not usable/,
  },
  {
    name: 'a corrupted snapshot',
    make: () => {
      const p = join(tempDir(), 'corrupt.db');
      const buf = Buffer.from(readFileSync(join(snapDir, snapshot)));
      buf[Math.floor(buf.length / 2)]! ^= 0xff;
      writeFileSync(p, buf);
      return p;
    },
    want: /sha256 does not match/,
  },
  { name: 'an unknown name', make: () => 'deis-etcd-20000101T000000Z.db', want: /no snapshot named/ },
];
for (const r of badRows) {
  test(`${r.name}: refused with one line and exit 3, the data dir untouched`, async () => {
    const disc = await startDiscovery({ size: 1, logDir });
    discs.push(disc);
    const dataDir = join(tempDir(), 'data');
    const b = await startBoot({ name: 'etcd-0', discovery: disc, logDir, size: 1, dataDir, env: restoreEnv(r.make()) });
    const code = await within(60_000, 'boot to exit', b.proc.exited);
    const errors = b.proc
      .log()
      .split('\n')
      .filter((l) => l.includes('"level":"error"'));
    assert.is(code, 3, b.proc.log().slice(-2000));
    assert.is(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, r.want);
    assert.not.ok(existsSync(join(dataDir, 'member')), 'no member data written');
  });
}

test.run();
