// etcd's etcdutl, run to completion: `snapshot status` (revision, hash, keys of a snapshot file) and
// `snapshot restore` (a snapshot into a new data dir). Its output travels inside our error.
import { spawn as nodeSpawn } from 'node:child_process';
import { DeisError } from '../errors.ts';
import type { SpawnFn } from './supervisor.ts';

/** What `etcdutl snapshot status -w json` reports. */
export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  version: string;
}

/** Runs etcdutl with args; resolves with its stdout, rejects with one line naming the failure. */
export function runEtcdutl(binary: string, args: string[], spawn: SpawnFn = nodeSpawn): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', (e) =>
      reject(
        new DeisError(
          'environment',
          `cannot run ${binary} (${(e as NodeJS.ErrnoException).code ?? e.message}): set --etcdutl-binary`,
          {
            cause: e,
          },
        ),
      ),
    );
    child.once('close', (code) => {
      if (code === 0) return resolve(out);
      const last = err.trim().split('\n').pop() ?? '';
      reject(new DeisError('environment', `etcdutl ${args.slice(0, 2).join(' ')} failed (exit ${code}): ${last}`));
    });
  });
}

/** `etcdutl snapshot status`: the snapshot's revision, hash and size as etcd reads them. */
export async function snapshotStatus(binary: string, file: string, spawn?: SpawnFn): Promise<SnapshotStatus> {
  const out = await runEtcdutl(binary, ['snapshot', 'status', file, '-w', 'json'], spawn);
  try {
    const s = JSON.parse(out) as SnapshotStatus;
    if (typeof s.revision !== 'number') throw new Error('no revision');
    return s;
  } catch (err) {
    throw new DeisError('internal', `etcdutl snapshot status printed no status for ${file}: ${out.slice(0, 200)}`, {
      cause: err,
    });
  }
}

/**
 * `etcdutl snapshot restore` into `dataDir` (which must not exist) as a one-member cluster of
 * `name` at `peerUrl`: the restored member starts alone and the others join it.
 */
export async function snapshotRestore(
  binary: string,
  file: string,
  m: { name: string; peerUrl: string; dataDir: string; clusterToken: string },
  spawn?: SpawnFn,
): Promise<void> {
  await runEtcdutl(
    binary,
    [
      'snapshot',
      'restore',
      file,
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--initial-cluster',
      `${m.name}=${m.peerUrl}`,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster-token',
      m.clusterToken,
    ],
    spawn,
  );
}
