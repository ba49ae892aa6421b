// discovery: the in-cluster etcd discovery service (see internal/discovery/run.ts).
import { runProgram } from '../../internal/cli.ts';
import { discoveryOptions, validateDiscovery } from '../../internal/config/discovery.ts';
import { runDiscovery } from '../../internal/discovery/run.ts';
import { realAdapters } from '../../internal/adapters.ts';

export function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runProgram(
    {
      name: 'discovery',
      summary: 'run the in-cluster etcd v3 discovery service for a deis-etcd cluster',
      options: discoveryOptions,
      validate: validateDiscovery,
      run: (cfg, rt) => runDiscovery({ ...rt, cfg, ...realAdapters(rt.env, cfg.namespace) }),
    },
    argv,
    env,
  );
}
