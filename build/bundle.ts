// Bundles the programs with esbuild into dist/: boot.cjs and discovery.cjs (one program each) and
// deis-etcd.cjs (both, chosen by invoked name or first argument; the single executable's main).
// Each bundle is one self-contained CommonJS file for Node 24, for `deno run -A` and for Node's
// single-executable main (which must be CommonJS): it needs no node_modules and no file beside it.
//
// Two traps of the dependencies are handled here:
// - etcd3 reads `${__dirname}/../proto/rpc.proto` at run time (@grpc/proto-loader loadSync). The
//   plugin below parses the protos at build time (protobufjs, keepCase as etcd3 asks) and swaps the
//   call for proto-loader's fromJSON over the embedded JSON; the build checks that both give the
//   same services and method paths.
// - yargs (and yargs-parser) use import.meta.url, which esbuild leaves empty in CommonJS: it is
//   defined as __importMetaUrl, computed by a banner from __filename.
//
// - Node older than 22 (the machine's Node 20) would fail deep inside undici with a screen of
//   minified source: the banner's first statement checks the version before anything else runs and
//   exits 3 with one line (NODE_CHECK).
//
// Each bundle gets <bundle>.map, trimmed to the project's own sources (build/source-map.ts), which
// internal/stack-map.ts reads when a stack is first formatted.
//
// The version (`--version`, log lines) is baked in as __DEIS_ETCD_VERSION__: $DEIS_ETCD_VERSION,
// else `git describe --tags --always --dirty`, else package.json's version.
//
// Usage: node build/bundle.ts [--out dist] [--no-minify]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { ownSource, trimSourceMap, type RawSourceMap } from './source-map.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The bundles and the module each one runs. */
export const bundles = [
  { name: 'boot', entry: 'cmd/boot/cli.ts' },
  { name: 'discovery', entry: 'cmd/discovery/cli.ts' },
  { name: 'deis-etcd', entry: 'cmd/deis-etcd/main.ts' },
] as const;

export interface BundleOptions {
  root?: string;
  outDir?: string;
  version?: string;
  minify?: boolean;
}

export interface BuiltBundle {
  name: string;
  path: string;
  bytes: number;
}

/** The version to bake in: an explicit one, else git describe, else package.json's. */
export function resolveVersion(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEIS_ETCD_VERSION) return env.DEIS_ETCD_VERSION;
  try {
    const v = execFileSync('git', ['describe', '--tags', '--always', '--dirty'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (v) return v;
  } catch {
    /* not a git checkout (e.g. a Docker build context without .git) */
  }
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

const PROTO_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface ProtoLoader {
  loadSync(file: string, opts: object): Record<string, unknown>;
  fromJSON(json: object, opts: object): Record<string, unknown>;
}
interface ProtobufRoot {
  loadSync(file: string, opts: object): ProtobufRoot;
  resolveAll(): ProtobufRoot;
  toJSON(): object;
}

/** Service method paths of a package definition, to compare two loads of the same protos. */
function methodPaths(def: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(def)) {
    if (value && typeof value === 'object' && !('format' in value)) {
      for (const [m, d] of Object.entries(value as Record<string, { path?: string }>))
        out.push(`${name}.${m}=${d.path}`);
    } else {
      out.push(name);
    }
  }
  return out.sort();
}

/** etcd3's protos as protobufjs JSON, checked to load into the same definition as the files do. */
export function etcdProtoJson(root: string): object {
  const etcd3Dir = join(root, 'node_modules/etcd3');
  // resolve the packages as etcd3 itself would (its own nested copies first)
  const req = createRequire(join(etcd3Dir, 'lib/connection-pool.js'));
  const loader = req('@grpc/proto-loader') as ProtoLoader;
  const protobuf = createRequire(req.resolve('@grpc/proto-loader'))('protobufjs') as { Root: new () => ProtobufRoot };
  const file = join(etcd3Dir, 'proto/rpc.proto');
  const json = new protobuf.Root().loadSync(file, { keepCase: true }).resolveAll().toJSON();
  const fromFiles = methodPaths(loader.loadSync(file, PROTO_OPTIONS));
  const fromJson = methodPaths(loader.fromJSON(JSON.parse(JSON.stringify(json)) as object, PROTO_OPTIONS));
  if (fromFiles.join('\n') !== fromJson.join('\n') || !fromFiles.some((p) => p.includes('/etcdserverpb.KV/Range'))) {
    throw new Error('bundle: etcd3 protos loaded from JSON differ from the .proto files');
  }
  return json;
}

/** esbuild plugin: etcd3's run-time loadSync of rpc.proto becomes fromJSON over embedded JSON. */
export function embedEtcdProtos(root: string): esbuild.Plugin {
  return {
    name: 'embed-etcd3-protos',
    setup(build) {
      let json: string | undefined;
      build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        json ??= JSON.stringify(etcdProtoJson(root));
        const source = readFileSync(args.path, 'utf8');
        const call = /\(0,\s*proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/;
        if (!call.test(source))
          throw new Error(
            `bundle: ${args.path} no longer loads rpc.proto the way this plugin expects; update embedEtcdProtos`,
          );
        return { contents: source.replace(call, `(0, proto_loader_1.fromJSON)(${json},`), loader: 'js' };
      });
    },
  };
}

/** The oldest Node the bundles run on (undici 8 needs 22's zlib zstd; the executable carries 24). */
export const MIN_NODE_MAJOR = 22;
/**
 * The banner's first statement: on an older Node, one line and exit code 3 (environment) before any
 * other code of the bundle runs. A CommonJS module may `return` at its top level; ES5 syntax only,
 * so that any Node parses it.
 */
export const NODE_CHECK =
  `if (+process.versions.node.split(".")[0] < ${MIN_NODE_MAJOR}) {` +
  ` process.stderr.write("deis-etcd needs Node ${MIN_NODE_MAJOR} or newer; this is Node " + process.versions.node + "\\n");` +
  ' process.exitCode = 3; return; }';
// import.meta.url for CommonJS: the bundle's own file (for the single executable, the executable).
const BANNER = `${NODE_CHECK}\nconst __importMetaUrl = require("node:url").pathToFileURL(__filename).href;`;

/** Rewrites esbuild's <outfile>.map: our sources only, named relative to the repository. */
function trimMap(outfile: string, root: string): void {
  const path = `${outfile}.map`;
  const map = trimSourceMap(JSON.parse(readFileSync(path, 'utf8')) as RawSourceMap, ownSource);
  map.sources = map.sources.map((s) => relative(root, resolve(dirname(outfile), s)));
  writeFileSync(path, JSON.stringify(map));
}

/** An entry that runs a program's main: bundles are CommonJS, so no top-level await. */
function programEntry(cli: string): string {
  return (
    "import { installStackMapping } from './internal/stack-map.ts';\n" +
    `import { main } from ${JSON.stringify(`./${cli}`)};\n` +
    'installStackMapping();\n' +
    'void main(process.argv.slice(2), process.env).then((code) => { process.exitCode = code; });\n'
  );
}

/** Builds every bundle into outDir (default dist/); returns their paths and sizes. */
export async function bundle(opts: BundleOptions = {}): Promise<BuiltBundle[]> {
  const root = resolve(opts.root ?? repoRoot);
  const outDir = resolve(root, opts.outDir ?? 'dist');
  const version = opts.version ?? resolveVersion(root);
  mkdirSync(outDir, { recursive: true });
  const plugin = embedEtcdProtos(root);
  const built: BuiltBundle[] = [];
  for (const b of bundles) {
    const outfile = join(outDir, `${b.name}.cjs`);
    const entry: Pick<esbuild.BuildOptions, 'entryPoints' | 'stdin'> = b.entry.endsWith('/main.ts')
      ? { entryPoints: [join(root, b.entry)] }
      : {
          stdin: { contents: programEntry(b.entry), resolveDir: root, sourcefile: `${b.name}-entry.ts`, loader: 'ts' },
        };
    await esbuild.build({
      ...entry,
      absWorkingDir: root,
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      // whitespace and syntax only: identifiers stay readable in stack traces
      minifyWhitespace: opts.minify ?? true,
      minifySyntax: opts.minify ?? true,
      legalComments: 'none',
      // <outfile>.map without a sourceMappingURL comment: Node would parse all of it at load with
      // --enable-source-maps; internal/stack-map.ts reads the trimmed one on demand
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'warning',
      define: {
        'import.meta.url': '__importMetaUrl',
        __DEIS_ETCD_VERSION__: JSON.stringify(version),
      },
      banner: { js: BANNER },
      plugins: [plugin],
    });
    trimMap(outfile, root);
    built.push({ name: b.name, path: outfile, bytes: statSync(outfile).size });
  }
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const built = await bundle({
    ...(outAt >= 0 ? { outDir: args[outAt + 1] } : {}),
    minify: !args.includes('--no-minify'),
  });
  for (const b of built) process.stdout.write(`${b.path}  ${(b.bytes / 1024 / 1024).toFixed(2)} MB\n`);
}
