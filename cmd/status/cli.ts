// status: one look at a deis-etcd cluster through the Kubernetes API (see internal/status/run.ts).
// Also the kubectl plugin `kubectl deis-etcd status` (kubectl-deis_etcd runs deis-etcd).
import { parseOptions } from '../../internal/config/options.ts';
import { statusOptions, validateStatus } from '../../internal/config/status.ts';
import { connectCluster } from '../../internal/k8s/cluster.ts';
import { directHttp } from '../../internal/status/direct.ts';
import { runStatus, statusErrorExit, statusErrorLine } from '../../internal/status/run.ts';
import { nodeFiles } from '../../internal/files.ts';
import { VERSION } from '../../internal/version.ts';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const parsed = await parseOptions(
      'deis-etcd status',
      'one table of the members (pod, IP, member ID, role, health, raft index and lag, DB size, alarms, version, ' +
        'last heartbeat), the differences between pods, members and the registry; exit 0 healthy, 1 degraded, 2 down',
      statusOptions,
      argv,
      env,
    );
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`deis-etcd status ${VERSION}\n`);
      return 0;
    }
    const cfg = validateStatus(parsed.raw);
    return await runStatus(cfg, {
      cluster: () => connectCluster(cfg, env),
      direct: directHttp,
      files: nodeFiles,
      write: (t) => process.stdout.write(t),
      now: () => Date.now(),
    });
  } catch (err) {
    process.stderr.write(statusErrorLine(err));
    return statusErrorExit(err);
  }
}
