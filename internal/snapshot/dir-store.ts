// Snapshots kept in a directory (a mounted volume): staged as a hidden .part file next to their final
// name, renamed into place once checked, listed and deleted by name.
import { createWriteStream, mkdirSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeisError } from '../errors.ts';

/** Where snapshots are kept. */
export interface SnapshotStore {
  /** For logs: the directory (or bucket and prefix). */
  readonly where: string;
  /** Writes the stream to a local staging file; its path and size. */
  stage(chunks: AsyncIterable<Uint8Array>, name: string): Promise<{ path: string; bytes: number }>;
  /** Keeps a staged file under `name`; returns its key (what an operator names to restore it). */
  commit(staged: string, name: string): Promise<string>;
  discard(staged: string): Promise<void>;
  /** Names of the kept snapshots (any order). */
  list(): Promise<string[]>;
  remove(name: string): Promise<void>;
  /** A local file holding the snapshot `name`, for etcdutl. */
  local(name: string): Promise<string>;
}

const why = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

export function dirStore(dir: string): SnapshotStore {
  const env = (what: string, err: unknown) =>
    new DeisError('environment', `${what} in ${dir} failed (${why(err)}): check the volume and its permissions`, {
      cause: err,
    });
  return {
    where: dir,
    async stage(chunks, name) {
      const path = join(dir, `.${name}.part`);
      let bytes = 0;
      try {
        mkdirSync(dir, { recursive: true });
        const counted = Readable.from(chunks).on('data', (c: Buffer) => {
          bytes += c.length;
        });
        await pipeline(counted, createWriteStream(path, { mode: 0o600 }));
      } catch (err) {
        await rm(path, { force: true });
        if (err instanceof DeisError) throw err;
        throw env(`writing ${name}`, err);
      }
      return { path, bytes };
    },
    async commit(staged, name) {
      const to = join(dir, name);
      await rename(staged, to).catch((err) => {
        throw env(`keeping ${name}`, err);
      });
      return to;
    },
    async discard(staged) {
      await rm(staged, { force: true });
    },
    async list() {
      try {
        return await readdir(dir);
      } catch (err) {
        if (why(err) === 'ENOENT') return [];
        throw env('listing snapshots', err);
      }
    },
    async remove(name) {
      await rm(join(dir, name)).catch((err) => {
        throw env(`deleting ${name}`, err);
      });
    },
    async local(name) {
      return join(dir, name);
    },
  };
}
