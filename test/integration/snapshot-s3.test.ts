// The snapshot program and boot's restore against a real S3-compatible store (SeaweedFS, see
// test/world/s3.ts) and real etcd: a snapshot is uploaded under the folder, retention deletes the
// oldest of its prefix there and nothing else; a new member restores `latest` from the bucket with
// every key back. Bad input: wrong credentials, the store down, a missing bucket (the snapshot program
// fails with one line, a non-zero exit and nothing left behind); an unknown key and a corrupted object
// (boot refuses with one line and exit 3, no member data written).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../world/etcd.ts';
import { freeAddress } from '../world/net.ts';
import {
  nodeBin as node,
  programEnv,
  runToExit,
  startBoot,
  startDiscovery,
  waitReady,
  type BootProcess,
} from '../world/programs.ts';
import { startProcess, tempDir, within } from '../world/procs.ts';
import { bundle } from '../../build/bundle.ts';
import { startS3Server, type S3Server } from '../world/s3.ts';
import { etcdTool } from '../world/tools.ts';

const logDir = tempDir();
const bucket = 'deis-etcd-snapshots';
const folder = 'prod/';
const keys = 100;
let cluster: EtcdCluster;
let s3: S3Server;
const boots: BootProcess[] = [];

test.before(async () => {
  [cluster, s3] = await Promise.all([startEtcdCluster({ size: 1 }), startS3Server()]);
  await s3.createBucket(bucket);
  const c = cluster.client();
  for (let i = 0; i < keys; i++) await c.put(`k${i}`).value(`value-${i}`);
});
test.after(async () => {
  await Promise.all(boots.map((b) => b.proc.stop()));
  await Promise.all([cluster?.stop(), s3?.stop()]);
});

const s3Env = (more: Record<string, string> = {}) => ({
  ...s3.env,
  DEIS_ETCD_S3_BUCKET: bucket,
  DEIS_ETCD_S3_FOLDER: folder,
  DEIS_ETCD_S3_ENDPOINT: s3.endpoint,
  DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
  ...more,
});
const snapshotEnv = (staging: string, more: Record<string, string> = {}) =>
  programEnv({ DEIS_ETCD_ENDPOINTS: cluster.endpoints.join(','), DEIS_ETCD_DIR: staging, ...s3Env(more) });
const errorsOf = (log: string) => log.split('\n').filter((l) => l.includes('"level":"error"'));
let uploaded = '';

test('a snapshot is uploaded under the folder; retention deletes the oldest of its prefix there only', async () => {
  const old = ['deis-etcd-20200101T000000Z.db', 'deis-etcd-20210101T000000Z.db', 'other-20200101T000000Z.db'];
  for (const n of old) await s3.put(bucket, folder + n, Buffer.from('old'));
  await s3.put(bucket, `${folder}sub/deis-etcd-20190101T000000Z.db`, Buffer.from('old'));
  const staging = tempDir();
  const r = await runToExit('snapshot', 'snapshot-s3', [], snapshotEnv(staging, { DEIS_ETCD_KEEP: '2' }), logDir);
  assert.is(r.code, 0, r.log);
  const saved = r.log.split('\n').filter((l) => l.includes('"msg":"snapshot saved"'));
  assert.is(saved.length, 1, 'one summary line');
  const s = JSON.parse(saved[0]!) as Record<string, unknown>;
  uploaded = String(s.key);
  assert.match(uploaded, /^prod\/deis-etcd-\d{8}T\d{6}Z\.db$/);
  assert.is(s.deleted, 1);
  assert.equal(await s3.keys(bucket), [
    `${folder}deis-etcd-20210101T000000Z.db`,
    uploaded,
    `${folder}other-20200101T000000Z.db`,
    `${folder}sub/deis-etcd-20190101T000000Z.db`,
  ]);
  assert.equal(readdirSync(staging), [], 'nothing left in the staging dir');
  assert.not.match(r.log, s3.secretAccessKey, 'the secret key is never logged');
});

test('the bundle (what the executable embeds) uploads from a dir with nothing beside it: the SDK is bundled', async () => {
  const out = tempDir('deis-etcd-dist-');
  const built = await bundle({ outDir: out, version: 'test' });
  const lonely = tempDir('deis-etcd-lonely-');
  copyFileSync(built.find((b) => b.name === 'deis-etcd')!.path, join(lonely, 'deis-etcd.cjs'));
  const before = await s3.keys(bucket);
  const env = { ...snapshotEnv(tempDir(), { DEIS_ETCD_KEEP: '100' }), NODE_PATH: '' };
  const proc = startProcess('bundle-snapshot', node, [join(lonely, 'deis-etcd.cjs'), 'snapshot'], {
    env,
    logDir,
    cwd: lonely,
  });
  const code = await within(60_000, 'the bundled snapshot to exit', proc.exited);
  assert.is(code, 0, proc.log());
  const added = (await s3.keys(bucket)).filter((k) => !before.includes(k));
  assert.is(added.length, 1, proc.log());
  uploaded = added[0]!; // now the newest: what `latest` restores below
});

const badRuns: { name: string; env: () => Promise<Record<string, string>>; code: number; want: RegExp }[] = [
  {
    name: 'wrong credentials',
    env: async () => ({ AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
    code: 5,
    want: /refused uploading .*AWS_SECRET_ACCESS_KEY/,
  },
  {
    name: 'the store down',
    env: async () => ({ DEIS_ETCD_S3_ENDPOINT: `http://${await freeAddress([8333])}:8333` }),
    code: 4,
    want: /unreachable .*ECONNREFUSED.*--s3-endpoint/,
  },
  {
    name: 'a missing bucket',
    env: async () => ({ DEIS_ETCD_S3_BUCKET: 'no-such-bucket' }),
    code: 3,
    want: /does not exist/,
  },
];
for (const b of badRuns) {
  test(`snapshot with ${b.name}: one line, exit ${b.code}, nothing uploaded or left behind`, async () => {
    const before = await s3.keys(bucket);
    const staging = tempDir();
    const r = await runToExit('snapshot', `snapshot-${b.code}`, [], snapshotEnv(staging, await b.env()), logDir);
    assert.is(r.code, b.code, r.log);
    const errors = errorsOf(r.log);
    assert.is(errors.length, 1, r.log);
    assert.match(errors[0]!, b.want);
    assert.equal(await s3.keys(bucket), before);
    assert.equal(readdirSync(staging), []);
  });
}

test('a new member restores latest from the bucket: every key is back', async () => {
  const disc = await startDiscovery({ size: 1, logDir });
  const b = await startBoot({
    name: 'etcd-0',
    discovery: disc,
    logDir,
    size: 1,
    env: s3Env({ DEIS_ETCD_RESTORE_FROM: 'latest' }),
  });
  boots.push(b);
  try {
    await waitReady(b, 90_000);
    const restored = b.proc
      .log()
      .split('\n')
      .find((l) => l.includes('"msg":"snapshot restored'));
    assert.ok(restored, 'boot says it restored');
    assert.is(JSON.parse(restored!).file, uploaded, 'the newest snapshot, by its key');
    const c = new Etcd3({ hosts: b.clientUrl, dialTimeout: 2000 });
    try {
      const got = await c.getAll().prefix('k').strings();
      assert.is(Object.keys(got).length, keys);
      for (let i = 0; i < keys; i++) assert.is(got[`k${i}`], `value-${i}`);
    } finally {
      c.close();
    }
  } finally {
    await b.proc.stop();
    await disc.proc.stop();
  }
});

const badRestores: { name: string; from: string; prepare?: () => Promise<void>; want: RegExp }[] = [
  {
    name: 'an unknown key',
    from: 'deis-etcd-20000101T000000Z.db',
    want: /no snapshot prod\/deis-etcd-20000101T000000Z\.db in s3:\/\/deis-etcd-snapshots/,
  },
  {
    name: 'a corrupted newest object',
    from: 'latest',
    prepare: () => s3.put(bucket, `${folder}deis-etcd-29990101T000000Z.db`, Buffer.alloc(20_512, 7)),
    want: /sha256 does not match/,
  },
];
for (const r of badRestores) {
  test(`restore of ${r.name} from the bucket: one line, exit 3, no member data`, async () => {
    await r.prepare?.();
    const disc = await startDiscovery({ size: 1, logDir });
    try {
      const dataDir = join(tempDir(), 'data');
      const env = s3Env({ DEIS_ETCD_RESTORE_FROM: r.from });
      const b = await startBoot({ name: 'etcd-0', discovery: disc, logDir, size: 1, dataDir, env });
      const code = await within(60_000, 'boot to exit', b.proc.exited);
      const errors = errorsOf(b.proc.log());
      assert.is(code, 3, b.proc.log().slice(-2000));
      assert.is(errors.length, 1, errors.join('\n'));
      assert.ok(r.want.test(errors[0]!), errors[0]);
      assert.not.ok(existsSync(join(dataDir, 'member')), 'no member data written');
      assert.equal(existsSync(dataDir) ? readdirSync(dataDir) : [], [], 'no download left in the data dir');
    } finally {
      await disc.proc.stop();
    }
  });
}

test.run();
