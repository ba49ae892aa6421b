// snapshot: take, check and keep one snapshot of a deis-etcd cluster (see internal/snapshot/run.ts).
import { runProgram } from '../../internal/cli.ts';
import { snapshotOptions, validateSnapshot } from '../../internal/config/snapshot.ts';
import { connectEtcd } from '../../internal/etcd/client.ts';
import { dirStore } from '../../internal/snapshot/dir-store.ts';
import { runSnapshot } from '../../internal/snapshot/run.ts';
import { snapshotStatus } from '../../internal/supervisor/etcdutl.ts';

export function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runProgram(
    {
      name: 'snapshot',
      summary: 'take a snapshot of a deis-etcd cluster, check it with etcdutl, keep it and apply retention',
      options: snapshotOptions,
      validate: validateSnapshot,
      run: (cfg, rt) =>
        runSnapshot({
          ...rt,
          cfg,
          connect: (endpoints) => connectEtcd({ endpoints }),
          store: dirStore(cfg.dir),
          status: (file) => snapshotStatus(cfg.etcdutlBinary, file),
        }),
    },
    argv,
    env,
  );
}
