// The object store's pure parts: the one translation of S3 client errors into ours (as a table of the
// shapes the SDK throws), the bucket settings' validation, and the S3 snapshot store over a
// hand-written bucket (keys under the folder, nothing of a sub-folder, the staged file gone after the
// upload, whether it succeeded or not).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { toDeisError, type Bucket } from '../../internal/s3/bucket.ts';
import { s3Store } from '../../internal/snapshot/s3-store.ts';
import { validateSnapshot } from '../../internal/config/snapshot.ts';
import type { RawOptions } from '../../internal/config/options.ts';

const cfg = { bucket: 'snaps', endpoint: 'http://127.0.0.9:8333', region: 'us-east-1' };
const sdkError = (name: string, status?: number, code?: string) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...(code ? { code } : {}) });

const rows: { name: string; err: unknown; key?: string; exit: number; want: RegExp }[] = [
  {
    name: 'NoSuchKey',
    err: sdkError('NoSuchKey', 404),
    key: 'p/x.db',
    exit: 3,
    want: /no snapshot p\/x\.db in s3:\/\/snaps/,
  },
  { name: 'a bare 404 on a key', err: sdkError('NotFound', 404), key: 'p/x.db', exit: 3, want: /no snapshot p\/x\.db/ },
  {
    name: 'NoSuchBucket',
    err: sdkError('NoSuchBucket', 404),
    exit: 3,
    want: /bucket snaps does not exist.*--s3-bucket/,
  },
  {
    name: 'InvalidAccessKeyId',
    err: sdkError('InvalidAccessKeyId', 403),
    key: 'k',
    exit: 5,
    want: /refused uploading k \(InvalidAccessKeyId\).*AWS_ACCESS_KEY_ID/,
  },
  {
    name: 'SignatureDoesNotMatch',
    err: sdkError('SignatureDoesNotMatch', 403),
    exit: 5,
    want: /AWS_SECRET_ACCESS_KEY/,
  },
  {
    name: 'connection refused (in the cause)',
    err: Object.assign(new Error('x'), { cause: { code: 'ECONNREFUSED' } }),
    exit: 4,
    want: /object store http:\/\/127\.0\.0\.9:8333 unreachable while uploading \(ECONNREFUSED\).*--s3-endpoint/,
  },
  { name: 'a timeout', err: sdkError('TimeoutError'), exit: 4, want: /unreachable/ },
  { name: 'anything else', err: sdkError('InternalError', 500), exit: 4, want: /failed uploading \(InternalError\)/ },
];
for (const r of rows) {
  test(`S3 error ${r.name} -> exit ${r.exit}, naming the fix`, () => {
    const e = toDeisError(r.err, 'uploading', 's3://snaps at http://127.0.0.9:8333', cfg, r.key);
    assert.instance(e, DeisError);
    assert.is(exitCodeFor(e), r.exit);
    assert.ok(r.want.test(e.message), e.message);
  });
}

const raw = (o: Record<string, string>): RawOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));

test('snapshot settings: a bucket alone is a destination; the folder gets its slash; a bad bucket is named', () => {
  const c = validateSnapshot(
    raw({ endpoints: 'http://127.0.0.1:2379', 's3-bucket': 'snaps', 's3-folder': '/prod' }),
    {},
  );
  assert.equal(c.s3, { bucket: 'snaps', folder: 'prod/', endpoint: undefined, region: 'us-east-1' });
  assert.throws(
    () => validateSnapshot(raw({ endpoints: 'http://127.0.0.1:2379', 's3-bucket': 'Bad_Bucket' }), {}),
    (e: Error) => /--s3-bucket must be a bucket name/.test(e.message),
  );
});

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 's3-store-'));
  dirs.push(d);
  return d;
};
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function* chunks(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

/** A bucket in memory: keys -> the text of the uploaded file. */
function memoryBucket(fail?: Error): Bucket & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  return {
    objects,
    where: 's3://mem',
    async put(key, file) {
      if (fail) throw fail;
      objects.set(key, readFileSync(file, 'utf8'));
    },
    list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
    delete: async (key) => void objects.delete(key),
    async get(key, file) {
      writeFileSync(file, objects.get(key) ?? '');
    },
  };
}

test('S3 store: commit uploads under the folder and removes the staged file; list sees the folder only', async () => {
  const staging = temp();
  const bucket = memoryBucket();
  bucket.objects.set('prod/sub/deis-etcd-20200101T000000Z.db', 'x');
  bucket.objects.set('other/deis-etcd-20200101T000000Z.db', 'x');
  const store = s3Store(bucket, { bucket: 'b', folder: 'prod/', endpoint: undefined, region: 'r' }, staging);
  const staged = await store.stage(chunks('data'), 'deis-etcd-20261130T000000Z.db');
  assert.is(await store.commit(staged.path, 'deis-etcd-20261130T000000Z.db'), 'prod/deis-etcd-20261130T000000Z.db');
  assert.not.ok(existsSync(staged.path), 'the staged file is gone');
  assert.is(bucket.objects.get('prod/deis-etcd-20261130T000000Z.db'), 'data');
  assert.equal(await store.list(), ['deis-etcd-20261130T000000Z.db']);
});

test('S3 store: a failed upload still removes the staged file and says why', async () => {
  const staging = temp();
  const store = s3Store(
    memoryBucket(new DeisError('forbidden', 'refused')),
    { bucket: 'b', folder: '', endpoint: undefined, region: 'r' },
    staging,
  );
  const staged = await store.stage(chunks('data'), 'n.db');
  await store.commit(staged.path, 'n.db').then(
    () => assert.unreachable('the upload failed'),
    (e: Error) => assert.is(e.message, 'refused'),
  );
  assert.not.ok(existsSync(staged.path));
});

test.run();
