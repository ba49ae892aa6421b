// snapshot: take, check and keep one snapshot of a deis-etcd cluster (see internal/snapshot/run.ts).
import { runProgram } from '../../internal/cli.ts';
import { snapshotOptions, validateSnapshot } from '../../internal/config/snapshot.ts';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeisError } from '../../internal/errors.ts';
import { missingRootPassword } from '../../internal/config/auth.ts';
import { connectEtcd } from '../../internal/etcd/client.ts';
import { openBucket } from '../../internal/s3/bucket.ts';
import { dirStore } from '../../internal/snapshot/dir-store.ts';
import { s3Store } from '../../internal/snapshot/s3-store.ts';
import { runSnapshot } from '../../internal/snapshot/run.ts';
import { snapshotStatus } from '../../internal/supervisor/etcdutl.ts';

export function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runProgram(
    {
      name: 'snapshot',
      summary:
        'take a snapshot of a deis-etcd cluster, check it with etcdutl, keep it (a directory or an S3 bucket) ' +
        'and apply retention',
      options: snapshotOptions,
      validate: validateSnapshot,
      run: (cfg, rt) =>
        runSnapshot({
          ...rt,
          cfg,
          connect: (endpoints) =>
            connectEtcd({
              endpoints,
              ...(cfg.clientTlsDir ? { tls: readClientTls(cfg.clientTlsDir) } : {}),
              ...(cfg.rootPasswordFile
                ? { auth: { username: 'root', password: readPassword(cfg.rootPasswordFile) } }
                : {}),
            }),
          store: cfg.s3 ? s3Store(openBucket(cfg.s3, rt.env), cfg.s3, cfg.dir || tmpdir()) : dirStore(cfg.dir),
          status: (file) => snapshotStatus(cfg.etcdutlBinary, file),
        }),
    },
    argv,
    env,
  );
}

/** The client certificate in `dir` (the deis-etcd-client-tls Secret's layout). */
function readClientTls(dir: string): { ca: string; cert: string; key: string } {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      throw new DeisError(
        'environment',
        `cannot read ${name} in --client-tls-dir ${dir} (${(err as NodeJS.ErrnoException).code}): mount the deis-etcd-client-tls Secret there`,
        { cause: err },
      );
    }
  };
  return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key') };
}

/** Root's password from the mounted Secret deis-etcd-root; missing or empty: one line, exit 3. */
function readPassword(file: string): string {
  let password = '';
  try {
    password = readFileSync(file, 'utf8').trim();
  } catch {
    /* the same error as an empty file */
  }
  if (!password) throw missingRootPassword(file);
  return password;
}
