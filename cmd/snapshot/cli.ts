// snapshot: take, check and keep one snapshot of a deis-etcd cluster (see internal/snapshot/run.ts).
import { runProgram } from '../../internal/cli.ts';
import { snapshotOptions, validateSnapshot } from '../../internal/config/snapshot.ts';
import { tmpdir } from 'node:os';
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
          connect: (endpoints) => connectEtcd({ endpoints }),
          store: cfg.s3 ? s3Store(openBucket(cfg.s3, rt.env), cfg.s3, cfg.dir || tmpdir()) : dirStore(cfg.dir),
          status: (file) => snapshotStatus(cfg.etcdutlBinary, file),
        }),
    },
    argv,
    env,
  );
}
