// The object store's pure parts: the one translation of S3 client errors into ours (as a table of the
// shapes the SDK throws) and the bucket settings' validation. The store itself is tested against a
// real S3-compatible server only (test/integration/snapshot-s3.test.ts): no fake of S3 here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { toDeisError } from '../../internal/s3/bucket.ts';
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

test.run();
