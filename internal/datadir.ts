// Checks on a data directory before etcd is pointed at it: it must be a directory we can write.
import { mkdirSync, rmSync, statSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeisError } from './errors.ts';

/** Creates dir if needed and proves it writable; a clear environment error otherwise. */
export function ensureWritableDir(dir: string, flag = '--data-dir'): void {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new DeisError('environment', `${flag} ${dir} exists but is not a directory: move it away or point ${flag} elsewhere`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.deis-etcd-write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    if (err instanceof DeisError) throw err;
    throw new DeisError('environment', `${flag} ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}): fix its ownership or mount a writable volume there`, { cause: err });
  }
}

/** True when dir holds an etcd member (member/wal has files). */
export function hasMemberData(dir: string): boolean {
  try {
    return readdirSync(join(dir, 'member', 'wal')).some((f) => f.endsWith('.wal'));
  } catch {
    return false;
  }
}
