// The snapshot program against a real 3-member etcd cluster: it snapshots a follower through the
// maintenance API, the file passes etcdutl and holds the keys, retention keeps the newest N of its own
// prefix only, and bad input (no etcd answering, no etcdutl) fails with one line, a non-zero exit code
// and nothing kept.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../world/etcd.ts';
import { programEnv, runToExit } from '../world/programs.ts';
import { tempDir } from '../world/procs.ts';
import { etcdTool } from '../world/tools.ts';
import { freeAddress } from '../world/net.ts';

const logDir = tempDir();
let cluster: EtcdCluster;

test.before(async () => {
  cluster = await startEtcdCluster({ size: 3 });
});
test.after(async () => {
  await cluster?.stop();
});

const env = (dir: string, more: Record<string, string> = {}) =>
  programEnv({
    DEIS_ETCD_ENDPOINTS: cluster.endpoints.join(','),
    DEIS_ETCD_DIR: dir,
    DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
    ...more,
  });
const saved = (log: string) =>
  log
    .split('\n')
    .filter((l) => l.includes('"msg":"snapshot saved"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a snapshot of a follower: checked, kept, holding the keys; retention deletes the oldest of its prefix', async () => {
  const c = cluster.client();
  for (let i = 0; i < 50; i++) await c.put(`k${i}`).value(`v${i}`);
  const rev = Number((await c.get('k0').exec()).header.revision);
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  // two older snapshots of ours and one of another prefix
  for (const n of ['deis-etcd-20200101T000000Z.db', 'deis-etcd-20210101T000000Z.db', 'other-20200101T000000Z.db'])
    writeFileSync(join(dir, n), 'old');
  const r = await runToExit('snapshot', 'snapshot', [], env(dir, { DEIS_ETCD_KEEP: '2' }), logDir);
  assert.is(r.code, 0, r.log);
  const lines = saved(r.log);
  assert.is(lines.length, 1, 'one summary line');
  const s = lines[0]!;
  assert.is(s.revision, rev, 'the revision of the last write');
  const { members } = await c.cluster.memberList({ linearizable: true });
  const { leader } = await c.maintenance.status();
  const leaderName = members.find((m) => m.ID === leader)?.name;
  assert.ok(s.member !== leaderName, `a follower was snapshotted, not the leader ${leaderName}`);
  const files = readdirSync(dir).sort();
  assert.is(files.length, 3, files.join(' '));
  assert.ok(files.includes('deis-etcd-20210101T000000Z.db') && files.includes('other-20200101T000000Z.db'));
  assert.not.ok(files.includes('deis-etcd-20200101T000000Z.db'), 'the oldest of the prefix is deleted');
  const key = String(s.key);
  const status = JSON.parse(
    execFileSync(etcdTool('etcdutl'), ['snapshot', 'status', key, '-w', 'json'], { encoding: 'utf8' }),
  );
  assert.is(status.revision, rev);
  assert.ok(status.totalKey >= 50);
  assert.ok(Number(s.size) > 0 && typeof s.tookMs === 'number');
});

test('no etcd answering: one error line, exit 4, nothing written', async () => {
  const dir = tempDir();
  const host = await freeAddress([2379]);
  const r = await runToExit(
    'snapshot',
    'snapshot-down',
    [],
    env(dir, { DEIS_ETCD_ENDPOINTS: `http://${host}:2379` }),
    logDir,
  );
  assert.is(r.code, 4, r.log);
  assert.is(r.errors.length, 1, r.log);
  assert.match(r.errors[0]!, 'exiting on error');
  assert.is(existsSync(dir) ? readdirSync(dir).length : 0, 0);
});

test('no etcdutl: one error line naming --etcdutl-binary, exit 3, the staged file discarded', async () => {
  const dir = tempDir();
  const r = await runToExit(
    'snapshot',
    'snapshot-noutl',
    [],
    env(dir, { DEIS_ETCD_ETCDUTL_BINARY: '/nonexistent/etcdutl' }),
    logDir,
  );
  assert.is(r.code, 3, r.log);
  assert.is(r.errors.length, 1, r.log);
  assert.match(r.errors[0]!, '--etcdutl-binary');
  assert.equal(readdirSync(dir), []);
});

test('no destination: a config error (exit 2) naming --dir', async () => {
  const r = await runToExit(
    'snapshot',
    'snapshot-nodir',
    [],
    programEnv({ DEIS_ETCD_ENDPOINTS: cluster.endpoints[0] }),
    logDir,
  );
  assert.is(r.code, 2, r.log);
  assert.match(r.log, '--dir');
});

test.run();
