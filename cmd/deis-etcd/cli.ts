// deis-etcd: the multi-call entry that lets one executable (and one copy of Node) carry every program.
// It runs `boot`, `discovery`, `snapshot` or `status` chosen by the name it was invoked as (a link
// /bin/boot, /bin/discovery or /bin/snapshot, a bundle named boot.cjs) or else by its first argument
// (`deis-etcd boot --help`, `kubectl-deis_etcd status`: kubectl runs the plugin with the words after
// `kubectl deis-etcd`).
//
// Each program's modules load only when it runs (dynamic import): one program's dependencies (the
// Kubernetes client of status, say) cost the others no memory.
import { VERSION } from '../../internal/version.ts';

export type ProgramName = 'boot' | 'discovery' | 'snapshot' | 'status';
type Main = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const programs: Record<ProgramName, () => Promise<{ main: Main }>> = {
  boot: () => import('../boot/cli.ts'),
  discovery: () => import('../discovery/cli.ts'),
  snapshot: () => import('../snapshot/cli.ts'),
  status: () => import('../status/cli.ts'),
};
const isProgram = (name: string | undefined): name is ProgramName =>
  name === 'boot' || name === 'discovery' || name === 'snapshot' || name === 'status';

/** A path's last element without a script extension: '/bin/boot' -> 'boot', 'dist/discovery.cjs' -> 'discovery'. */
export function commandName(path: string | undefined): string | undefined {
  if (!path) return undefined;
  return path
    .split(/[\\/]/)
    .pop()!
    .replace(/\.(c|m)?[jt]s$/, '')
    .replace(/\.exe$/i, '');
}

export type Choice =
  | { kind: 'run'; program: ProgramName; argv: string[] }
  | { kind: 'usage'; exitCode: number }
  | { kind: 'version' };

/**
 * Pure: which program to run. `invokedAs` are the names the process was started by, most specific
 * first (argv0 of a link, then the script path); the first that names a program wins. Otherwise the
 * first argument names it and the rest are its arguments.
 */
export function choose(invokedAs: (string | undefined)[], args: string[]): Choice {
  for (const path of invokedAs) {
    const name = commandName(path);
    if (isProgram(name)) return { kind: 'run', program: name, argv: args };
  }
  const [first, ...rest] = args;
  if (isProgram(first)) return { kind: 'run', program: first, argv: rest };
  if (first === '--version' || first === 'version') return { kind: 'version' };
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { kind: 'usage', exitCode: first === undefined ? 2 : 0 };
  return { kind: 'usage', exitCode: 2 };
}

export const USAGE = `deis-etcd ${VERSION}: etcd on Kubernetes, its programs in one executable

Usage:
  deis-etcd boot [options]        start one etcd member (also run as /bin/boot)
  deis-etcd discovery [options]   run the in-cluster discovery service (also run as /bin/discovery)
  deis-etcd snapshot [options]    take, check and keep one snapshot (also run as /bin/snapshot)
  deis-etcd status [-n NS]        one look at a cluster; exit 0 healthy, 1 degraded, 2 down
                                  (also the kubectl plugin: kubectl deis-etcd status -n NS)
  deis-etcd --version

Run 'deis-etcd <program> --help' for its options.
`;

/** Runs the chosen program; returns the exit code. */
export async function main(invokedAs: (string | undefined)[], args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const choice = choose(invokedAs, args);
  switch (choice.kind) {
    case 'run':
      return (await programs[choice.program]()).main(choice.argv, env);
    case 'version':
      process.stdout.write(`deis-etcd ${VERSION}\n`);
      return 0;
    case 'usage':
      (choice.exitCode === 0 ? process.stdout : process.stderr).write(USAGE);
      return choice.exitCode;
    default: {
      const never: never = choice;
      throw new Error(`unhandled choice ${JSON.stringify(never)}`);
    }
  }
}
