// The file operations the runners make (token file, data dir checks, the member marker, moving data
// aside), behind one small interface so that tests run the runners on an in-memory tree.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeisError } from './errors.ts';

export interface Files {
  /** A file's text; undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  write(path: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** A directory's entries; undefined when it does not exist. */
  list(dir: string): Promise<string[] | undefined>;
  /** Creates dir if needed and proves it writable; an environment error naming `flag` otherwise. */
  ensureWritableDir(dir: string, flag: string): Promise<void>;
  /**
   * Replaces a set of private files (mode 0600) in dir at once, so that a reader never sees a new
   * certificate with an old key: like the kubelet's atomic writer, each name is a link into `..data`,
   * a link to a fresh generation directory that one rename swaps.
   */
  writeSet(dir: string, entries: Readonly<Record<string, string>>): Promise<void>;
}

async function writeSet(dir: string, entries: Readonly<Record<string, string>>): Promise<void> {
  const gen = `..gen-${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await mkdir(join(dir, gen), { mode: 0o700 });
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, gen, name), text, { mode: 0o600 });
  const old = await readlink(join(dir, '..data')).catch(() => undefined);
  await rm(join(dir, '..data.tmp'), { force: true });
  await symlink(gen, join(dir, '..data.tmp'));
  await rename(join(dir, '..data.tmp'), join(dir, '..data'));
  for (const name of Object.keys(entries)) {
    const target = join('..data', name);
    if ((await readlink(join(dir, name)).catch(() => undefined)) !== target) {
      await rm(join(dir, name), { force: true });
      await symlink(target, join(dir, name));
    }
  }
  if (old && old !== gen) await rm(join(dir, old), { recursive: true, force: true });
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

/** The real file system. */
export const nodeFiles: Files = {
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw new DeisError(
        'environment',
        `cannot read ${path} (${errno(err)}): check the volume mount and its permissions`,
        { cause: err },
      );
    }
  },
  write: (path, text) => writeFile(path, text),
  rename: (from, to) => rename(from, to),
  writeSet,
  async list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return undefined;
    }
  },
  async ensureWritableDir(dir, flag) {
    try {
      if (existsSync(dir) && !statSync(dir).isDirectory()) {
        throw new DeisError(
          'environment',
          `${flag} ${dir} exists but is not a directory: move it away or point ${flag} elsewhere`,
        );
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const probe = join(dir, `.deis-etcd-write-test-${process.pid}`);
      await writeFile(probe, '');
      rmSync(probe);
    } catch (err) {
      if (err instanceof DeisError) throw err;
      throw new DeisError(
        'environment',
        `${flag} ${dir} is not writable (${errno(err)}): fix its ownership or mount a writable volume there`,
        { cause: err },
      );
    }
  },
};

/** True when dir holds an etcd member (member/wal has files). */
export async function hasMemberData(files: Files, dir: string): Promise<boolean> {
  return ((await files.list(join(dir, 'member', 'wal'))) ?? []).some((f) => f.endsWith('.wal'));
}
