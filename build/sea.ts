// Builds ONE standalone executable, dist/bin/deis-etcd, with dist/bin/boot, dist/bin/discovery and the kubectl plugin dist/bin/kubectl-deis_etcd as
// links to it (it runs the program named by the link or by its first argument), using Node's own
// single-executable-application (SEA) tooling and nothing from the network:
//   1. the multi-call CommonJS bundle dist/deis-etcd.cjs (build/bundle.ts) is the SEA main;
//   2. `node --experimental-sea-config` of the project's Node 24 (node_modules/.bin/node) writes the
//      blob (with V8 code cache for a faster start, and the bundle's trimmed source map as an asset);
//   3. a copy of that same node binary is stripped of its symbols (~127 MB -> ~108 MB) and postject
//      injects the blob (NODE_SEA_BLOB note, sentinel fuse flipped).
// pkg is not used (docs/packaging.md: it downloads Node, and its `npx postject` fails silently
// offline, leaving a plain copy of node). A failed injection leaves plain node here too, so the build
// runs the result with --version and fails unless it answers with our version.
//
// Usage: node build/sea.ts [--no-strip]    Env: POSTJECT=<postject package dir> when not in node_modules
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEA_MAP_ASSET } from '../internal/stack-map.ts';
import { bundle, repoRoot, resolveVersion } from './bundle.ts';

/**
 * V8 flags baked into the executable (sea-config execArgv; NODE_OPTIONS still adds to them): semi-spaces
 * of at most 1 MiB instead of V8's default, which grows the young generation with allocation; the
 * programs allocate little, and the smaller nursery keeps their resident memory lower (bench/rss.ts,
 * README).
 */
export const EXEC_ARGV = ['--max-semi-space-size=1'];

/** The fuse Node's SEA support looks for (from Node's docs and src/node_sea.cc). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaOptions {
  root?: string;
  /** The Node 24 binary to embed: the project's pinned one by default. */
  node?: string;
  strip?: boolean;
  version?: string;
  /** Where the bundles go; the executable goes into its bin/ (default dist). */
  outDir?: string;
}

export interface BuiltExecutable {
  path: string;
  links: string[];
  bytes: number;
  version: string;
}

type Inject = (file: string, resource: string, data: Buffer, opts: { sentinelFuse: string }) => Promise<void>;

/** postject's inject(): from $POSTJECT (a package dir) or the project's node_modules. */
function loadPostject(root: string, env: NodeJS.ProcessEnv): Inject {
  const req = createRequire(join(root, 'package.json'));
  const where = env.POSTJECT ? resolve(env.POSTJECT) : 'postject';
  try {
    return (req(where) as { inject: Inject }).inject;
  } catch (err) {
    throw new Error(
      `sea: postject is not installed (npm devDependency postject, or set POSTJECT to its package directory)`,
      { cause: err },
    );
  }
}

/** Builds dist/bin/deis-etcd and its links; throws unless the result answers with our version. */
export async function buildExecutable(opts: SeaOptions = {}): Promise<BuiltExecutable> {
  const root = resolve(opts.root ?? repoRoot);
  const node = resolve(root, opts.node ?? 'node_modules/.bin/node');
  const version = opts.version ?? resolveVersion(root);
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (!/^v(2[4-9]|[3-9]\d)\./.test(nodeVersion))
    throw new Error(`sea: ${node} is Node ${nodeVersion}; the executable needs Node 24+`);
  const inject = loadPostject(root, process.env);

  const outDir = resolve(root, opts.outDir ?? 'dist');
  await bundle({ root, version, outDir });
  const binDir = join(outDir, 'bin');
  rmSync(binDir, { recursive: true, force: true });
  mkdirSync(binDir, { recursive: true });
  const exe = join(binDir, 'deis-etcd');

  const work = mkdtempSync(join(tmpdir(), 'deis-etcd-sea-'));
  try {
    const blob = join(work, 'sea.blob');
    const config = join(work, 'sea-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        main: join(outDir, 'deis-etcd.cjs'),
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: true,
        execArgv: EXEC_ARGV,
        // the trimmed source map, read by internal/stack-map.ts when a stack is formatted
        assets: { [SEA_MAP_ASSET]: join(outDir, 'deis-etcd.cjs.map') },
      }),
    );
    execFileSync(node, ['--experimental-sea-config', config], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });

    copyFileSync(node, exe);
    chmodSync(exe, 0o755);
    if (opts.strip ?? true) execFileSync('strip', ['--strip-all', exe], { stdio: 'inherit' });
    await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // kubectl-deis_etcd: the kubectl plugin (`kubectl deis-etcd status` runs it with `status ...`)
  const links = ['boot', 'discovery', 'snapshot', 'kubectl-deis_etcd'].map((name) => {
    const link = join(binDir, name);
    symlinkSync('deis-etcd', link);
    return link;
  });

  // the trap: a failed injection leaves plain node, which would print its own version
  const answer = execFileSync(exe, ['--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).trim();
  if (answer !== `deis-etcd ${version}`)
    throw new Error(`sea: ${exe} --version printed '${answer}', not 'deis-etcd ${version}': the blob was not injected`);
  return { path: exe, links, bytes: statSync(exe).size, version };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(repoRoot, 'node_modules/.bin/node')))
    throw new Error('sea: run npm ci first (Node 24 comes from the node package)');
  const built = await buildExecutable({ strip: !process.argv.includes('--no-strip') });
  process.stdout.write(
    `${built.path}  ${(built.bytes / 1024 / 1024).toFixed(1)} MB  (${built.version}); links: ${built.links.join(' ')}\n`,
  );
}
