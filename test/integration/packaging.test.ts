// The shipped artifacts as real processes: the esbuild bundles under Node 24 and under Deno, and the
// single executable (Node SEA) with its boot/discovery links. Each runs from an empty directory with
// nothing beside it (no node_modules, no protos), --help and --version answer, and the discovery
// program talks gRPC to the real etcd it starts (the registry's size key is read back).
// Built once here into a temp dir. Deno comes from node_modules/.bin/deno or $DENO, postject from the
// project's node_modules or $POSTJECT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { bundle, repoRoot, type BuiltBundle } from '../../build/bundle.ts';
import { buildExecutable, type BuiltExecutable } from '../../build/sea.ts';
import { etcdTool } from '../helpers/tools.ts';
import { freeAddress } from '../helpers/net.ts';
import { startProcess, tempDir, waitFor } from '../helpers/procs.ts';

const node = join(repoRoot, 'node_modules/.bin/node');
const deno = process.env.DENO ?? join(repoRoot, 'node_modules/.bin/deno');
const VERSION = 'test-1.2.3';
/** A bare environment: no node on PATH, no NODE_PATH, nothing of ours. */
const bareEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: '/usr/bin:/bin', HOME: tempDir(), ...extra });

let built: BuiltBundle[] = [];
let exe: BuiltExecutable;
let alone: string; // a dir holding only the executable and its links

interface Ran { code: number; stdout: string; stderr: string }
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? bareEnv(), timeout: 60_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A dir holding one copy of a bundle and nothing else. */
function lonely(bundleName: string): string {
  const dir = tempDir('deis-etcd-lonely-');
  copyFileSync(built.find((b) => b.name === bundleName)!.path, join(dir, `${bundleName}.cjs`));
  return dir;
}

test.before(async () => {
  const out = tempDir('deis-etcd-dist-');
  exe = await buildExecutable({ outDir: out, version: VERSION });
  built = await bundle({ outDir: out, version: VERSION });
  alone = tempDir('deis-etcd-exe-');
  copyFileSync(exe.path, join(alone, 'deis-etcd'));
  for (const link of ['boot', 'discovery']) symlinkSync('deis-etcd', join(alone, link));
});

/**
 * Runs the discovery program (cmd + args) with size 3 on its own loopback address until /readyz is
 * ready, reads the size key back over gRPC from the test, then stops it with SIGTERM.
 */
async function discoverySmoke(name: string, cmd: string, args: string[], cwd: string): Promise<void> {
  const host = await freeAddress([2381, 2382, 8081]);
  const token = `t${Math.random().toString(16).slice(2)}`;
  const env = bareEnv({
    POD_IP: host,
    DEIS_ETCD_CLUSTER_SIZE: '3',
    DEIS_ETCD_DISCOVERY_TOKEN: token,
    DEIS_ETCD_DATA_DIR: join(tempDir(), 'data'),
    DEIS_ETCD_BINARY: etcdTool('etcd'),
  });
  const proc = startProcess(name, cmd, args, { env, cwd, logDir: tempDir() });
  const client = new Etcd3({ hosts: `http://${host}:2381`, dialTimeout: 2000 });
  try {
    await waitFor(`${name} ready`, async () => {
      if (!proc.running()) throw new Error(`${name} exited: ${proc.log().slice(-3000)}`);
      try { return (await fetch(`http://${host}:8081/readyz`, { signal: AbortSignal.timeout(1000) })).ok; } catch { return false; }
    }, 60_000);
    assert.is(await client.get(`/_etcd/registry/${token}/_config/size`).string(), '3');
    assert.match(proc.log(), new RegExp(`"version":"${VERSION}"|version=${VERSION}`));
  } finally {
    client.close();
    await proc.stop();
  }
}

// --- the bundles ---------------------------------------------------------------------------------

test('three bundles, each one self-contained file of a few MB with the protos embedded', () => {
  assert.equal(built.map((b) => b.name), ['boot', 'discovery', 'deis-etcd']);
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
  assert.is((await run(node, ['deis-etcd.cjs', 'discovery', '--version'], { cwd: dir })).stdout.trim(), `discovery ${VERSION}`);
  assert.is((await run(node, ['deis-etcd.cjs', '--version'], { cwd: dir })).stdout.trim(), `deis-etcd ${VERSION}`);
  const none = await run(node, ['deis-etcd.cjs'], { cwd: dir });
  assert.is(none.code, 2);
  assert.match(none.stderr, /deis-etcd boot \[options\]/);
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
  assert.ok(existsSync(join(exe.path, '..', 'boot')) && existsSync(join(exe.path, '..', 'discovery')), 'dist/bin/boot and discovery links');
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

test('the executable alone, as discovery, serves discovery on a real etcd', async () => {
  await discoverySmoke('discovery-sea', join(alone, 'discovery'), [], alone);
});

// --- Deno ----------------------------------------------------------------------------------------

for (const program of ['boot', 'discovery'] as const) {
  test(`deno run -A ${program}.cjs --help and --version`, async () => {
    assert.ok(existsSync(deno), `deno is missing at ${deno} (npm devDependency deno, or set DENO)`);
    const dir = lonely(program);
    const help = await run(deno, ['run', '-A', `${program}.cjs`, '--help'], { cwd: dir });
    assert.is(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^${program}: `));
    assert.is((await run(deno, ['run', '-A', `${program}.cjs`, '--version'], { cwd: dir })).stdout.trim(), `${program} ${VERSION}`);
  });
}

test('deno run -A discovery.cjs serves discovery on a real etcd (gRPC over node:http2 in Deno)', async () => {
  const dir = lonely('discovery');
  mkdirSync(join(dir, '.deno'), { recursive: true });
  await discoverySmoke('discovery-deno', deno, ['run', '-A', join(dir, 'discovery.cjs')], dir);
});

test.run();
