// The shipped artifacts as real processes: the esbuild bundles under Node 24 and under Deno, and the
// single executable (Node SEA) with its boot/discovery links. Each runs from an empty directory with
// nothing beside it (no node_modules, no protos), --help and --version answer, and the discovery
// program talks gRPC to the real etcd it starts (the registry's size key is read back).
// Built once here into a temp dir. Deno comes from node_modules/.bin/deno or $DENO, postject from the
// project's node_modules or $POSTJECT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { bundle, MIN_NODE_MAJOR, repoRoot, type BuiltBundle } from '../../build/bundle.ts';
import { buildExecutable, type BuiltExecutable } from '../../build/sea.ts';
import { etcdTool } from '../world/tools.ts';
import { freeAddress } from '../world/net.ts';
import { startProcess, tempDir, waitFor } from '../world/procs.ts';

const node = join(repoRoot, 'node_modules/.bin/node');
const deno = process.env.DENO ?? join(repoRoot, 'node_modules/.bin/deno');
const VERSION = 'test-1.2.3';
/** A bare environment: no node on PATH, no NODE_PATH, nothing of ours. */
const bareEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: '/usr/bin:/bin',
  HOME: tempDir(),
  ...extra,
});

let built: BuiltBundle[] = [];
let exe: BuiltExecutable;
let alone: string; // a dir holding only the executable and its links

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? bareEnv(), timeout: 60_000, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A dir holding one copy of a bundle and nothing else (with its source map if asked). */
function lonely(bundleName: string, withMap = false): string {
  const dir = tempDir('deis-etcd-lonely-');
  const path = built.find((b) => b.name === bundleName)!.path;
  copyFileSync(path, join(dir, `${bundleName}.cjs`));
  if (withMap) copyFileSync(`${path}.map`, join(dir, `${bundleName}.cjs.map`));
  return dir;
}

/** The machine's own Node when it is older than the bundles accept (Node 20 here), else undefined. */
function oldNode(): { path: string; version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(path)) continue;
    const r = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const version = r.stdout?.trim() ?? '';
    if (r.status === 0 && Number(version.split('.')[0]) < MIN_NODE_MAJOR) return { path, version };
  }
  return undefined;
}

/**
 * A preload (node -r, or NODE_OPTIONS for the executable) that makes os.networkInterfaces throw a
 * plain Error: runProgram (internal/cli.ts) calls it after the config is valid and prints the stack
 * of any error that is not ours.
 */
function failingPreload(): string {
  const file = join(tempDir('deis-etcd-preload-'), 'fail.cjs');
  writeFileSync(file, "require('node:os').networkInterfaces = () => { throw new Error('injected failure'); };\n");
  return file;
}
const failEnv = (extra: Record<string, string> = {}) =>
  bareEnv({ POD_IP: '127.0.0.1', DEIS_ETCD_DISCOVERY_TOKEN: 't', DEIS_ETCD_CLUSTER_SIZE: '1', ...extra });

test.before(async () => {
  const out = tempDir('deis-etcd-dist-');
  exe = await buildExecutable({ outDir: out, version: VERSION });
  built = await bundle({ outDir: out, version: VERSION });
  alone = tempDir('deis-etcd-exe-');
  copyFileSync(exe.path, join(alone, 'deis-etcd'));
  for (const link of ['boot', 'discovery']) symlinkSync('deis-etcd', join(alone, link));
});

interface Running {
  host: string;
  token: string;
  stop(): Promise<number>;
  log(): string;
}

/** Starts a program (cmd + args) with env on host and waits until its /readyz on httpPort says ready. */
async function startReady(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  host: string,
  httpPort: number,
  env: Record<string, string>,
): Promise<Running> {
  const proc = startProcess(name, cmd, args, {
    env: bareEnv({
      POD_IP: host,
      DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
      DEIS_ETCD_DATA_DIR: join(tempDir(), 'data'),
      ...env,
    }),
    cwd,
    logDir: tempDir(),
  });
  try {
    await waitFor(
      `${name} ready`,
      async () => {
        if (!proc.running()) throw new Error(`${name} exited: ${proc.log().slice(-3000)}`);
        try {
          return (await fetch(`http://${host}:${httpPort}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
        } catch {
          return false;
        }
      },
      60_000,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { host, token: env.DEIS_ETCD_DISCOVERY_TOKEN ?? '', stop: () => proc.stop(), log: proc.log };
}

/** The discovery program (size `size`) on its own loopback address, ready. */
async function startDiscovery(name: string, cmd: string, args: string[], cwd: string, size = 3): Promise<Running> {
  const host = await freeAddress([2381, 2382, 8081]);
  const token = `t${Math.random().toString(16).slice(2)}`;
  return startReady(name, cmd, args, cwd, host, 8081, {
    DEIS_ETCD_CLUSTER_SIZE: String(size),
    DEIS_ETCD_DISCOVERY_TOKEN: token,
  });
}

/** Discovery comes up, its size key reads back over gRPC from the test, its log has our version. */
async function discoverySmoke(name: string, cmd: string, args: string[], cwd: string): Promise<void> {
  const disc = await startDiscovery(name, cmd, args, cwd);
  const client = new Etcd3({ hosts: `http://${disc.host}:2381`, dialTimeout: 2000 });
  try {
    assert.is(await client.get(`/_etcd/registry/${disc.token}/_config/size`).string(), '3');
    assert.match(disc.log(), new RegExp(`"version":"${VERSION}"|version=${VERSION}`));
  } finally {
    client.close();
    await disc.stop();
  }
}

// --- the bundles ---------------------------------------------------------------------------------

test('three bundles, each one self-contained file of a few MB with the protos embedded', () => {
  assert.equal(
    built.map((b) => b.name),
    ['boot', 'discovery', 'deis-etcd'],
  );
  for (const b of built) {
    assert.ok(b.bytes > 500_000 && b.bytes < 15_000_000, `${b.name}.cjs is ${b.bytes} bytes`);
    const text = readFileSync(b.path, 'utf8');
    assert.not.match(text, /proto\/rpc\.proto/, `${b.name}.cjs still loads rpc.proto from disk`);
    assert.match(text, /fromJSON\)\(\{"?nested"?:\{"?etcdserverpb/);
  }
});

for (const program of ['boot', 'discovery'] as const) {
  test(`node ${program}.cjs --help and --version from an empty dir`, async () => {
    const dir = lonely(program);
    const help = await run(node, [`${program}.cjs`, '--help'], { cwd: dir });
    assert.is(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^${program}: `));
    assert.match(help.stdout, /--log-level/);
    const version = await run(node, [`${program}.cjs`, '--version'], { cwd: dir });
    assert.is(version.stdout.trim(), `${program} ${VERSION}`);
  });
}

test('deis-etcd.cjs runs the program named by its first argument', async () => {
  const dir = lonely('deis-etcd');
  assert.is((await run(node, ['deis-etcd.cjs', 'boot', '--version'], { cwd: dir })).stdout.trim(), `boot ${VERSION}`);
  assert.is(
    (await run(node, ['deis-etcd.cjs', 'discovery', '--version'], { cwd: dir })).stdout.trim(),
    `discovery ${VERSION}`,
  );
  assert.is((await run(node, ['deis-etcd.cjs', '--version'], { cwd: dir })).stdout.trim(), `deis-etcd ${VERSION}`);
  const none = await run(node, ['deis-etcd.cjs'], { cwd: dir });
  assert.is(none.code, 2);
  assert.match(none.stderr, /deis-etcd boot \[options\]/);
});

test("an older Node (the machine's): each bundle says which Node it needs, exit 3, before any other code", async () => {
  const old = oldNode();
  if (!old) {
    console.log('  (skipped: no Node older than 22 on this machine)');
    return;
  }
  for (const name of ['boot', 'discovery', 'deis-etcd'] as const) {
    const r = await run(old.path, [`${name}.cjs`, '--help'], { cwd: lonely(name) });
    assert.is(r.code, 3, `${name}: ${r.stderr.slice(0, 500)}`);
    assert.is(r.stderr, `deis-etcd needs Node ${MIN_NODE_MAJOR} or newer; this is Node ${old.version}\n`);
    assert.is(r.stdout, '');
  }
});

test('a stack trace from a bundle names internal/... files (its trimmed .map beside it)', async () => {
  const dir = lonely('discovery', true);
  const r = await run(node, ['-r', failingPreload(), 'discovery.cjs'], { cwd: dir, env: failEnv() });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /Error: injected failure\n/);
  assert.match(r.stderr, /\n {4}at runProgram \(internal\/cli\.ts:\d+:\d+\)/);
  const map = JSON.parse(readFileSync(join(dir, 'discovery.cjs.map'), 'utf8')) as { sources: string[] };
  assert.ok(
    map.sources.length > 10 && map.sources.every((s) => /^(cmd|internal)\/.*\.ts$|^discovery-entry\.ts$/.test(s)),
    'own sources only',
  );
  const bare = await run(node, ['-r', failingPreload(), 'discovery.cjs'], { cwd: lonely('discovery'), env: failEnv() });
  assert.match(bare.stderr, /at runProgram \(.*discovery\.cjs:\d+:\d+\)/, 'without a map the frame stays as it is');
});

test('node discovery.cjs serves discovery on a real etcd (gRPC put/get)', async () => {
  const dir = lonely('discovery');
  await discoverySmoke('discovery-node', node, [join(dir, 'discovery.cjs')], dir);
});

// --- the single executable -----------------------------------------------------------------------

test('the executable is not a plain copy of node: it answers with our version', async () => {
  const r = await run(join(alone, 'deis-etcd'), ['--version'], { cwd: alone });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), `deis-etcd ${VERSION}`);
  assert.ok(exe.bytes > 50_000_000, `${exe.bytes} bytes: Node is in there`);
  assert.ok(
    existsSync(join(exe.path, '..', 'boot')) && existsSync(join(exe.path, '..', 'discovery')),
    'dist/bin/boot and discovery links',
  );
});

for (const program of ['boot', 'discovery'] as const) {
  test(`the executable alone, run as ${program} (link) and as 'deis-etcd ${program}': --help, --version`, async () => {
    const viaLink = await run(join(alone, program), ['--help'], { cwd: alone });
    assert.is(viaLink.code, 0, viaLink.stderr);
    assert.match(viaLink.stdout, new RegExp(`^${program}: `));
    assert.is((await run(join(alone, program), ['--version'], { cwd: alone })).stdout.trim(), `${program} ${VERSION}`);
    const viaArg = await run(join(alone, 'deis-etcd'), [program, '--version'], { cwd: alone });
    assert.is(viaArg.stdout.trim(), `${program} ${VERSION}`);
    assert.not.match(viaLink.stderr, /ExperimentalWarning|single executable/i);
  });
}

test('a stack trace from the executable names internal/... files (the map is in the executable)', async () => {
  const r = await run(join(alone, 'discovery'), [], {
    cwd: alone,
    env: failEnv({ NODE_OPTIONS: `-r ${failingPreload()}` }),
  });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /\n {4}at runProgram \(internal\/cli\.ts:\d+:\d+\)/);
});

test('the executable alone, as discovery, serves discovery on a real etcd', async () => {
  await discoverySmoke('discovery-sea', join(alone, 'discovery'), [], alone);
});

test('the executable alone: a one-member cluster bootstraps through discovery, boot makes it ready', async () => {
  const disc = await startDiscovery('discovery-sea-1', join(alone, 'discovery'), [], alone, 1);
  const host = await freeAddress([2379, 2380, 8080]);
  let member: Running | undefined;
  try {
    member = await startReady('boot-sea', join(alone, 'boot'), [], alone, host, 8080, {
      POD_NAME: 'deis-etcd-0',
      DEIS_ETCD_CLUSTER_SIZE: '1',
      DEIS_ETCD_DISCOVERY_ENDPOINT: `http://${disc.host}:2381`,
      DEIS_ETCD_DISCOVERY_TOKEN: disc.token,
      DEIS_ETCD_KUBERNETES: 'off',
    });
    const client = new Etcd3({ hosts: `http://${host}:2379`, dialTimeout: 2000 });
    try {
      await client.put('packaging').value('works');
      assert.is(await client.get('packaging').string(), 'works');
    } finally {
      client.close();
    }
  } finally {
    await member?.stop();
    await disc.stop();
  }
});

// --- Deno ----------------------------------------------------------------------------------------

for (const program of ['boot', 'discovery'] as const) {
  test(`deno run -A ${program}.cjs --help and --version`, async () => {
    assert.ok(existsSync(deno), `deno is missing at ${deno} (npm devDependency deno, or set DENO)`);
    const dir = lonely(program);
    const help = await run(deno, ['run', '-A', `${program}.cjs`, '--help'], { cwd: dir });
    assert.is(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^${program}: `));
    assert.is(
      (await run(deno, ['run', '-A', `${program}.cjs`, '--version'], { cwd: dir })).stdout.trim(),
      `${program} ${VERSION}`,
    );
  });
}

test('deno run -A discovery.cjs serves discovery on a real etcd (gRPC over node:http2 in Deno)', async () => {
  const dir = lonely('discovery');
  mkdirSync(join(dir, '.deno'), { recursive: true });
  await discoverySmoke('discovery-deno', deno, ['run', '-A', join(dir, 'discovery.cjs')], dir);
});

test.run();
