// Restoring a snapshot into an empty data dir, for the first member of a cluster that has none
// (DEIS_ETCD_RESTORE_FROM): find the snapshot (`latest` of a prefix, a name in the snapshot
// directory or the S3 bucket, or a path; a bucket's is downloaded next to the data dir first), check it (sha256 and page size, then etcdutl status) before anything is
// written, restore it with `etcdutl snapshot restore` into a staging dir inside the data dir, and move
// its member/ into place only once the restore succeeded. The restored member starts as a one-member
// cluster; the others join it as learners.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DeisError } from '../errors.ts';
import { snapshotRestore, snapshotStatus, type SnapshotStatus } from '../supervisor/etcdutl.ts';
import type { S3Config } from '../config/s3-options.ts';
import { openBucket } from '../s3/bucket.ts';
import { verifySnapshotFile } from './integrity.ts';
import { snapshotsOf } from './names.ts';
import { s3Store } from './s3-store.ts';

export interface RestoreSource {
  /** `latest`, a snapshot name in `dir` or the bucket, or a file path. */
  from: string;
  dir: string | undefined;
  /** The bucket to restore from (instead of `dir`), its credentials in `env`. */
  s3?: S3Config | undefined;
  env?: NodeJS.ProcessEnv;
  prefix: string;
  etcdutl: string;
}

export interface RestoreTarget {
  name: string;
  peerUrl: string;
  dataDir: string;
  clusterToken: string;
}

export interface Restored {
  file: string;
  size: number;
  status: SnapshotStatus;
}

/** What the boot runner calls (replaced by a fake in unit tests). */
export type RestoreFn = (src: RestoreSource, to: RestoreTarget) => Promise<Restored>;

/**
 * The snapshot file `src` names, downloaded into `stagingDir` when it is in a bucket, and what names it
 * (its key or path); an 'environment' error naming what is missing.
 */
export async function resolveSnapshot(src: RestoreSource, stagingDir: string): Promise<{ file: string; key: string }> {
  if (src.s3 && !isAbsolute(src.from)) {
    const store = s3Store(openBucket(src.s3, src.env ?? {}), src.s3, stagingDir);
    let name = src.from;
    if (name === 'latest') {
      const newest = snapshotsOf(src.prefix, await store.list())[0];
      if (!newest)
        throw new DeisError(
          'environment',
          `restore: no ${src.prefix}-<time>.db snapshot in ${store.where} to restore as latest`,
        );
      name = newest;
    }
    return { file: await store.local(name), key: src.s3.folder + name };
  }
  const file = await resolveLocal(src);
  return { file, key: file };
}

async function resolveLocal(src: RestoreSource): Promise<string> {
  if (isAbsolute(src.from)) {
    if (!existsSync(src.from)) throw new DeisError('environment', `restore: snapshot ${src.from} does not exist`);
    return src.from;
  }
  if (!src.dir) throw new DeisError('config', `restore: '${src.from}' needs --restore-dir (or give an absolute path)`);
  const names = await readdir(src.dir).catch((err: NodeJS.ErrnoException) => {
    throw new DeisError(
      'environment',
      `restore: cannot list ${src.dir} (${err.code ?? err.message}): mount the snapshot volume there`,
    );
  });
  if (src.from === 'latest') {
    const newest = snapshotsOf(src.prefix, names)[0];
    if (!newest)
      throw new DeisError(
        'environment',
        `restore: no ${src.prefix}-<time>.db snapshot in ${src.dir} to restore as latest`,
      );
    return join(src.dir, newest);
  }
  if (!names.includes(src.from))
    throw new DeisError('environment', `restore: no snapshot named ${src.from} in ${src.dir}`);
  return join(src.dir, src.from);
}

/** Checks and restores the snapshot into `to.dataDir`; the data dir is touched only after every check passed. */
export const restoreSnapshot: RestoreFn = async (src, to) => {
  if (existsSync(join(to.dataDir, 'member')))
    throw new DeisError('environment', `restore: ${to.dataDir} already holds member data; refusing to overwrite it`);
  const staging = join(to.dataDir, '.restore');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    const { file, key } = await resolveSnapshot(src, staging);
    const size = await verifySnapshotFile(file);
    const status = await snapshotStatus(src.etcdutl, file);
    const restored = join(staging, 'data');
    await snapshotRestore(src.etcdutl, file, { ...to, dataDir: restored });
    await rename(join(restored, 'member'), join(to.dataDir, 'member'));
    return { file: key, size, status };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
};
