// A real S3-compatible object store for the tests: SeaweedFS's `weed server` (master, volume server,
// filer and S3 gateway in one process, built by `make tools`) on a loopback address of its own, with
// its data in a temp dir, telemetry off, and one identity whose keys the tests pass to the programs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { freeAddress } from './net.ts';
import { GiveUp, startProcess, tempDir, waitFor, type TestProcess } from './procs.ts';
import { seaweedTool } from './tools.ts';

/** The ports `weed server` listens on (each HTTP port's gRPC port is it + 10000). */
const PORTS = { master: 9333, volume: 8080, filer: 8888, s3: 8333 } as const;

export interface S3Server {
  /** http://host:8333, what --s3-endpoint names. */
  readonly endpoint: string;
  readonly host: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** AWS_* variables for a program that talks to this store. */
  readonly env: Record<string, string>;
  readonly proc: TestProcess;
  createBucket(bucket: string): Promise<void>;
  /** Every key in the bucket under prefix, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3Server(opts: { dir?: string } = {}): Promise<S3Server> {
  const dir = opts.dir ?? tempDir('deis-etcd-s3-');
  const ports = Object.values(PORTS).flatMap((p) => [p, p + 10000]);
  const host = await freeAddress(ports);
  const accessKeyId = 'deisetcdtest';
  const secretAccessKey = `secret-${Math.random().toString(36).slice(2)}`;
  const config = join(dir, 's3.json');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    config,
    JSON.stringify({
      identities: [
        { name: 'tests', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin'] },
      ],
    }),
  );
  const args = [
    'server',
    `-ip=${host}`,
    `-ip.bind=${host}`,
    `-dir=${join(dir, 'data')}`,
    `-master.port=${PORTS.master}`,
    `-volume.port=${PORTS.volume}`,
    `-filer.port=${PORTS.filer}`,
    `-s3.port=${PORTS.s3}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-filer',
    '-s3',
    `-s3.config=${config}`,
    '-s3.autoCreateBucket=false',
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=64',
    '-volume.max=20',
  ];
  const proc = startProcess('seaweedfs', seaweedTool(), args, { logDir: dir, cwd: dir });
  const endpoint = `http://${host}:${PORTS.s3}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const server: S3Server = {
    endpoint,
    host,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
    proc,
    async createBucket(bucket) {
      // the gateway answers before the filer and a volume are ready; retry until a bucket can be made
      await waitFor(
        `bucket ${bucket} on SeaweedFS at ${endpoint}`,
        async () => {
          if (!proc.running()) throw new GiveUp(`weed exited:\n${proc.log().slice(-3000)}`);
          try {
            await client.send(new CreateBucketCommand({ Bucket: bucket }));
          } catch (err) {
            if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
          }
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: '.probe', Body: 'x' }));
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: '.probe' }));
          return true;
        },
        60_000,
        500,
      );
    },
    async keys(bucket, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      for (let page = 0; page < 20; page++) {
        const r = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
        if (!token) break;
      }
      return out.sort();
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async remove(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async stop() {
      client.destroy();
      await proc.stop(5000);
    },
  };
  return server;
}
