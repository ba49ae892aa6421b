// Backups on the test world (issue #14's done-when): the backup component's CronJob, run as a Job
// (`kubectl create job --from=cronjob/deis-etcd-snapshot`), uploads a snapshot to a real S3-compatible
// store (SeaweedFS) and retention deletes the oldest; the StatefulSet and its volumes deleted and
// re-applied with DEIS_ETCD_RESTORE_FROM=latest come back as a cluster of the configured size with every
// key written before the snapshot, and not the one written after it. A Job whose credentials are wrong
// fails with one clear line and leaves the cluster alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { waitFor } from '../world/procs.ts';
import { startS3Server, type S3Server } from '../world/s3.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
const bucket = 'deis-etcd-snapshots'; // the backup component's ConfigMap
const folder = 'deis-etcd/';
const keys = 100;
let world: TestWorld;
let s3: S3Server;
let m: Members;

/** Renders an overlay with the placeholder endpoint replaced by the test's SeaweedFS, and applies it. */
async function apply(overlay: string): Promise<void> {
  const yaml = await world.kubectl(['kustomize', join(repoRoot, 'test/e2e/overlays', overlay)]);
  await world.kubectl(['apply', '-f', '-'], yaml.replaceAll('http://s3.test-world.invalid:8333', s3.endpoint));
}

/** Creates a Job from the CronJob and waits for it to finish; its final condition and its pods' logs. */
async function runJob(name: string): Promise<{ condition: string; log: string }> {
  await world.kubectl(['create', 'job', name, '--from=cronjob/deis-etcd-snapshot', '-n', ns]);
  const batch = await import('@kubernetes/client-node').then((k) => {
    const kc = new k.KubeConfig();
    kc.loadFromFile(world.kubeconfig);
    return kc.makeApiClient(k.BatchV1Api);
  });
  const condition = await waitFor(
    `job ${name} to finish`,
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace: ns });
      return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
        ?.type;
    },
    180_000,
    500,
  );
  const pods = await world.core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}` });
  const logs = await Promise.all(pods.items.map((p) => world.agent.logs(ns, p.metadata!.name!)));
  return { condition, log: logs.join('\n') };
}

/** Sets the secret key in the credentials Secret the Job reads. */
const setSecretKey = (key: string) =>
  world.kubectl([
    'patch',
    'secret',
    'deis-etcd-backup-credentials',
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ stringData: { AWS_SECRET_ACCESS_KEY: key } }),
  ]);

test.before(async () => {
  await setUp().catch((err: unknown) => {
    // uvu does not print a failed before hook: say it here
    console.error('backup e2e: setting up failed:', err);
    throw err;
  });
});

async function setUp(): Promise<void> {
  [world, s3] = await Promise.all([startTestWorld(), startS3Server()]);
  m = members(world, ns);
  await s3.createBucket(bucket);
  await apply('backup');
  await world.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'deis-etcd-backup-credentials' }, stringData: s3.env },
  });
  await m.converged(3, { timeoutMs: 180_000, dns: true });
  await m.withClient(async (c) => {
    for (let i = 0; i < keys; i++) await c.put(`b/k${i}`).value(`value-${i}`);
  }, 60_000);
}
test.after(async () => {
  await world?.stop();
  await s3?.stop();
});

test('a Job from the CronJob uploads a checked snapshot; retention deletes the oldest', async () => {
  for (const n of ['deis-etcd-20200101T000000Z.db', 'deis-etcd-20210101T000000Z.db'])
    await s3.put(bucket, folder + n, Buffer.from('old'));
  const { condition, log } = await runJob('snapshot-1');
  assert.is(condition, 'Complete', log);
  const saved = log.split('\n').filter((l) => l.includes('"msg":"snapshot saved"'));
  assert.is(saved.length, 1, log);
  const key = String(JSON.parse(saved[0]!).key);
  assert.equal(await s3.keys(bucket, folder), [`${folder}deis-etcd-20210101T000000Z.db`, key].sort());
});

test('wrong credentials: the Job fails with one clear line, the cluster is unaffected', async () => {
  const id = await m.converged(3, { dns: true });
  const before = await s3.keys(bucket);
  await setSecretKey('wrong');
  try {
    const { condition, log } = await runJob('snapshot-bad');
    assert.is(condition, 'Failed', log);
    const errors = log.split('\n').filter((l) => l.includes('"level":"error"'));
    assert.ok(errors.length >= 1, log);
    // one line per attempt (the Job retries), each naming the credentials
    for (const e of errors) assert.match(e, /refused uploading .*AWS_SECRET_ACCESS_KEY/);
    assert.equal(await s3.keys(bucket), before, 'nothing uploaded, nothing deleted');
    assert.is(await m.converged(3, { dns: true }), id, 'the same cluster');
  } finally {
    await setSecretKey(s3.secretAccessKey);
  }
});

test('StatefulSet and volumes deleted, re-applied with DEIS_ETCD_RESTORE_FROM=latest: every key is back', async () => {
  await m.withClient((c) => c.put('b/after-snapshot').value('not in the snapshot').exec());
  const oldId = await m.converged(3, { dns: true });
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await m.gone();
  const claims = ['data-deis-etcd-0', 'data-deis-etcd-1', 'data-deis-etcd-2'];
  await world.kubectl(['delete', 'pvc', ...claims, '-n', ns, '--wait=true', '--timeout=120s']);
  await apply('backup-restore');
  const newId = await m.converged(3, { timeoutMs: 240_000, dns: true });
  assert.is.not(newId, oldId, 'a new cluster (restored, not the old volumes)');
  const got = await m.withClient((c) => c.getAll().prefix('b/k').strings(), 30_000);
  assert.is(Object.keys(got).length, keys);
  for (let i = 0; i < keys; i++) assert.is(got[`b/k${i}`], `value-${i}`);
  assert.is(await m.get('b/after-snapshot'), null, 'a write after the snapshot is not there');
  const restorers = [];
  for (const p of await m.pods())
    if (
      (await m.entries(p.metadata!.name!)).some(
        (e) => e.msg === 'snapshot restored: this member starts alone, the others join it',
      )
    )
      restorers.push(p.metadata!.name);
  assert.is(restorers.length, 1, `exactly one member restored: ${restorers.join(' ')}`);
});

test.run();
