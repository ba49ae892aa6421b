// A clean `npm ci` of this project with the machine's npm (its Node is 20 here), in an empty copy of
// the package files: it succeeds, runs exactly the install scripts allowScripts allows (node's, which
// installs Node 24, and deno's, which links its binary) and warns about none left unreviewed, warns
// about no engine of ours (only the dependencies' own pins listed below), and with one allowScripts
// entry missing it fails (.npmrc strict-allow-scripts) instead of running an unreviewed script.
// Uses npm's cache first (--prefer-offline); skipped with a notice where npm is absent and in the
// integration@3.7 pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../build/bundle.ts';
import { tempDir } from '../world/procs.ts';

/** Dependencies whose own `engines` the machine's Node 20 does not meet; none of ours. */
const KNOWN_ENGINE_WARNINGS = ['undici'];

const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
// nothing here depends on etcd: the integration@3.7 pass would install the same tree again
const otherEtcd = !!process.env.DEIS_ETCD_TEST_ETCD && process.env.DEIS_ETCD_TEST_ETCD !== '3.6';
const skip =
  npm.status !== 0
    ? 'no npm on PATH'
    : otherEtcd
      ? `DEIS_ETCD_TEST_ETCD=${process.env.DEIS_ETCD_TEST_ETCD} (the default pass runs it)`
      : undefined;
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

/** A dir with the package files (package.json rewritten by `edit`), then `npm ci` in it. */
function ci(edit: (p: typeof pkg) => typeof pkg = (p) => p) {
  const dir = tempDir('deis-etcd-npm-ci-');
  for (const f of ['package-lock.json', '.npmrc']) copyFileSync(join(repoRoot, f), join(dir, f));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(edit(structuredClone(pkg)), null, 2));
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { dir, code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('npm ci: clean, only the allowed install scripts, no engine warning of ours', () => {
  if (skip) {
    console.log(`  NOTICE: npm ci test skipped: ${skip}`);
    return;
  }
  const r = ci();
  assert.is(r.code, 0, r.out.slice(-3000));
  assert.not.match(r.out, /install-scripts|allowScripts/, r.out.slice(-2000));
  const engineWarnings = [...r.out.matchAll(/EBADENGINE\s+package: '([^@']+)@/g)].map((m) => m[1]);
  assert.not.ok(engineWarnings.includes('deis-etcd'), 'no engine warning about the project itself');
  assert.equal(
    [...new Set(engineWarnings)].filter((n) => !KNOWN_ENGINE_WARNINGS.includes(n!)),
    [],
  );
  // node's preinstall ran: the pinned Node 24 is there
  const node = spawnSync(join(r.dir, 'node_modules/.bin/node'), ['--version'], { encoding: 'utf8' });
  assert.is(node.stdout.trim(), `v${pkg.devDependencies.node}`);
  // deno's postinstall ran: .bin/deno is the binary, not the Node shim that would run it under spawnSync
  const link = join(r.dir, 'node_modules/.bin/deno');
  assert.ok(lstatSync(link).isSymbolicLink() && !readlinkSync(link).endsWith('.cjs'), readlinkSync(link));
  // esbuild's postinstall did not run, and its API (build/bundle.ts uses nothing else) still works
  const esbuild = spawnSync(
    join(r.dir, 'node_modules/.bin/node'),
    ['-e', "process.stdout.write(require('esbuild').transformSync('let a: number = 1', { loader: 'ts' }).code)"],
    { cwd: r.dir, encoding: 'utf8' },
  );
  assert.is(esbuild.stdout.trim(), 'let a = 1;', esbuild.stderr);
});

test('npm ci: a package with an install script not in allowScripts fails the install', () => {
  if (skip) return;
  const r = ci((p) => {
    delete p.allowScripts.deno;
    return p;
  });
  assert.is.not(r.code, 0, 'the install went through with an unreviewed script');
  assert.match(r.out, /ESTRICTALLOWSCRIPTS/);
  assert.match(r.out, /deno@/);
});

test.run();
