// boot: the launcher of one etcd member (see internal/boot/run.ts).
import { runProgram } from '../../internal/cli.ts';
import { bootOptions, validateBoot } from '../../internal/config/boot.ts';
import { runBoot } from '../../internal/boot/run.ts';
import { realAdapters } from '../../internal/adapters.ts';

export function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runProgram(
    {
      name: 'boot',
      summary: 'start one etcd member of a deis-etcd cluster: bootstrap, join or restart, then supervise it',
      options: bootOptions,
      validate: validateBoot,
      run: (cfg, rt) =>
        runBoot({ ...rt, cfg, ...realAdapters(rt.env, cfg.namespace), startedAt: performance.timeOrigin }),
    },
    argv,
    env,
  );
}
