// Snapshots kept in an S3 bucket under a folder (a key prefix): staged and checked as a local file in
// a staging directory (the dir store's staging), uploaded once checked, listed and deleted by key. The
// object is the checked file as it is, the database followed by its sha256, so a download is checked
// by the same integrity check before anything restores it.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Config } from '../config/s3-options.ts';
import type { Bucket } from '../s3/bucket.ts';
import { dirStore, type SnapshotStore } from './dir-store.ts';

/** The object store's snapshots as a SnapshotStore; `local` downloads into `stagingDir`. */
export function s3Store(bucket: Bucket, cfg: S3Config, stagingDir: string): SnapshotStore {
  const staging = dirStore(stagingDir);
  return {
    where: `${bucket.where}/${cfg.folder}`,
    stage: (chunks, name) => staging.stage(chunks, name),
    async commit(staged, name) {
      try {
        await bucket.put(cfg.folder + name, staged);
      } finally {
        await rm(staged, { force: true });
      }
      return cfg.folder + name;
    },
    discard: (staged) => staging.discard(staged),
    async list() {
      const keys = await bucket.list(cfg.folder);
      return keys.map((k) => k.slice(cfg.folder.length)).filter((n) => n && !n.includes('/'));
    },
    remove: (name) => bucket.delete(cfg.folder + name),
    async local(name) {
      const file = join(stagingDir, `.${name}.download`);
      try {
        await bucket.get(cfg.folder + name, file);
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
      return file;
    },
  };
}
