// The S3 adapter: one bucket of an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW...)
// through AWS's own client, @aws-sdk/client-s3. The client is imported on first use, so that boot and
// discovery, which never touch a bucket unless a restore from it is configured, do not load it.
//
// Credentials come from the environment the caller passes (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// optional AWS_SESSION_TOKEN, normally from a Secret) and nowhere else: the SDK's default chain would
// also ask the instance metadata service, a network call we do not want on a failure path. Every SDK
// error becomes a DeisError in `toDeisError`; nothing else reads an SDK error.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeisError } from '../errors.ts';

export interface BucketConfig {
  readonly bucket: string;
  /** An S3-compatible server's URL (path-style addressing); undefined: AWS S3 of the region. */
  readonly endpoint: string | undefined;
  readonly region: string;
}

/** The few bucket operations the snapshot store needs; keys are whole object keys. */
export interface Bucket {
  /** For logs and messages: s3://bucket (at the endpoint). */
  readonly where: string;
  put(key: string, file: string): Promise<void>;
  /** Every key starting with `prefix` (all pages). */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Writes the object to `file`; an 'environment' error naming the key when there is none. */
  get(key: string, file: string): Promise<void>;
}

/** Pages of a listing read at most (1000 keys a page). */
const MAX_PAGES = 100;

export function openBucket(cfg: BucketConfig, env: NodeJS.ProcessEnv): Bucket {
  const where = `s3://${cfg.bucket}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}`;
  let client: Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | undefined;
  const connect = () => {
    client ??= import('@aws-sdk/client-s3').then((sdk) => ({ sdk, s3: makeClient(sdk, cfg, env) }));
    return client;
  };
  const call = async <T>(
    what: string,
    key: string | undefined,
    f: (c: Awaited<ReturnType<typeof connect>>) => Promise<T>,
  ) => {
    const c = await connect();
    try {
      return await f(c);
    } catch (err) {
      throw toDeisError(err, what, where, cfg, key);
    }
  };
  return {
    where,
    put: (key, file) =>
      call('uploading', key, async ({ s3, sdk }) => {
        const size = (await stat(file)).size;
        await s3.send(
          new sdk.PutObjectCommand({ Bucket: cfg.bucket, Key: key, Body: createReadStream(file), ContentLength: size }),
        );
      }),
    list: (prefix) =>
      call('listing', undefined, async ({ s3, sdk }) => {
        const keys: string[] = [];
        let token: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const out = await s3.send(
            new sdk.ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: prefix, ContinuationToken: token }),
          );
          for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
          if (!token) break;
        }
        return keys;
      }),
    delete: (key) =>
      call('deleting', key, async ({ s3, sdk }) => {
        await s3.send(new sdk.DeleteObjectCommand({ Bucket: cfg.bucket, Key: key }));
      }),
    get: (key, file) =>
      call('downloading', key, async ({ s3, sdk }) => {
        const out = await s3.send(new sdk.GetObjectCommand({ Bucket: cfg.bucket, Key: key }));
        await pipeline(out.Body as Readable, createWriteStream(file, { mode: 0o600 }));
      }),
  };
}

function makeClient(sdk: typeof import('@aws-sdk/client-s3'), cfg: BucketConfig, env: NodeJS.ProcessEnv): S3Client {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new DeisError(
      'config',
      `no credentials for s3://${cfg.bucket}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (from the credentials Secret)`,
    );
  }
  return new sdk.S3Client({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint, forcePathStyle: true } : {}),
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
    // S3-compatible servers differ in the newer checksum headers; the snapshot carries its own sha256
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 300_000 },
  });
}

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The one place an SDK error is read: S3 error names, HTTP status and socket error codes -> our errors. */
export function toDeisError(
  err: unknown,
  what: string,
  where: string,
  cfg: BucketConfig,
  key: string | undefined,
): DeisError {
  if (err instanceof DeisError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const sock = e.code ?? (e.cause as SdkError | undefined)?.code;
  const of = key ? ` ${key}` : '';
  if (name === 'NoSuchKey' || (status === 404 && key && name !== 'NoSuchBucket'))
    return new DeisError('environment', `no snapshot${of} in ${where}: list the bucket and name an existing key`, {
      cause: err,
    });
  if (name === 'NoSuchBucket')
    return new DeisError(
      'environment',
      `bucket ${cfg.bucket} does not exist${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}: create it or fix --s3-bucket`,
      {
        cause: err,
      },
    );
  if (
    ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'].includes(name) ||
    status === 403
  )
    return new DeisError(
      'forbidden',
      `${where} refused ${what}${of} (${name || status}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the credentials Secret and the key's permissions`,
      { cause: err },
    );
  if (
    (sock && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(sock)) ||
    name === 'TimeoutError'
  )
    return new DeisError(
      'unreachable',
      `object store ${cfg.endpoint ?? `of region ${cfg.region}`} unreachable while ${what}${of} (${sock ?? name}): check --s3-endpoint and that the store is up`,
      { cause: err },
    );
  return new DeisError('unreachable', `${where} failed ${what}${of} (${name || sock || status || 'unknown error'})`, {
    cause: err,
  });
}
