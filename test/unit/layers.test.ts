// The layering rules, checked on the sources: each library is imported by its one adapter, only the
// supervisor spawns processes, the membership decisions import nothing with side effects, the
// product never imports test code, and bench/ and build/ reach into test/ only through the shared
// local world (test/world/), which itself stands alone; unit tests start no processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const sources = (...dirs: string[]) =>
  dirs.flatMap((d) => files(join(root, d))).map((f) => ({ file: relative(root, f), text: readFileSync(f, 'utf8') }));
const product = sources('internal', 'cmd');
const importsOf = (text: string) => [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

/**
 * The repo files a source depends on: static imports, `export … from`, dynamic import() (resolved
 * against the file), and repo paths of sources it spells out from the root, such as a script it
 * spawns (`join(root, 'test/….ts')`).
 */
function repoDeps(f: { file: string; text: string }): string[] {
  const specs = [
    ...f.text.matchAll(/^(?:import|export)\b[^'";]*?['"](\.{1,2}\/[^'"]+)['"]/gm),
    ...f.text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]/g),
  ].map((m) => relative(root, resolve(root, dirname(f.file), m[1]!)));
  const spelled = [...f.text.matchAll(/['"`]((?:test|bench|build|internal|cmd)\/[\w./-]+\.ts)['"`]/g)].map(
    (m) => m[1]!,
  );
  return [...specs, ...spelled];
}

const rules: { name: string; module: RegExp; allowed: RegExp }[] = [
  { name: 'etcd3 only in internal/etcd', module: /^etcd3$|^cockatiel$/, allowed: /^internal\/etcd\// },
  {
    name: '@kubernetes/client-node only in internal/k8s',
    module: /^@kubernetes\/client-node$/,
    allowed: /^internal\/k8s\//,
  },
  {
    name: 'child_process only in internal/supervisor',
    module: /^node:child_process$/,
    allowed: /^internal\/supervisor\//,
  },
  {
    name: '@peculiar/x509 only in internal/tls',
    module: /^@peculiar\/x509$|^reflect-metadata$/,
    allowed: /^internal\/tls\//,
  },
  { name: '@aws-sdk only in internal/s3', module: /^@aws-sdk\//, allowed: /^internal\/s3\// },
  { name: 'yargs only in internal/config', module: /^yargs/, allowed: /^internal\/config\// },
];
for (const rule of rules) {
  test(rule.name, () => {
    const offenders = product
      .filter((f) => importsOf(f.text).some((m) => rule.module.test(m)) && !rule.allowed.test(f.file))
      .map((f) => f.file);
    assert.equal(offenders, []);
  });
}

test('internal/membership is pure: it imports nothing but itself', () => {
  for (const f of product.filter((x) => x.file.startsWith('internal/membership/'))) {
    assert.equal(
      importsOf(f.text).filter((m) => !/^\.\/[a-z-]+\.ts$/.test(m)),
      [],
      f.file,
    );
  }
});

test('runners reach files, HTTP and timers only through the Runtime', () => {
  const runners = product.filter((f) => /^internal\/(boot|discovery)\//.test(f.file));
  const direct = /^import[^'"]*['"]node:fs(\/promises)?['"]|\bfetch\(|\bset(Timeout|Interval)\(/m;
  assert.equal(
    runners.filter((f) => direct.test(f.text.replace(/\b(src|ctx|d|rt)\.fetch\(/g, ''))).map((f) => f.file),
    [],
  );
});

test('the product never imports test code', () => {
  assert.equal(
    product.filter((f) => importsOf(f.text).some((m) => m.includes('/test/'))).map((f) => f.file),
    [],
  );
});

test('bench/ and build/ use no test code but the shared local world (test/world/)', () => {
  const offenders = sources('bench', 'build').flatMap((f) =>
    repoDeps(f)
      .filter((d) => d.startsWith('test/') && !d.startsWith('test/world/'))
      .map((d) => `${f.file} -> ${d}`),
  );
  assert.equal(offenders, []);
});

test('test/world/ stands alone: it uses nothing else from test/, bench/ or build/', () => {
  const world = sources('test/world');
  assert.ok(world.length > 0, 'test/world/ has sources');
  const offenders = world.flatMap((f) =>
    repoDeps(f)
      .filter((d) => /^(test|bench|build)\//.test(d) && !d.startsWith('test/world/'))
      .map((d) => `${f.file} -> ${d}`),
  );
  assert.equal(offenders, []);
});

test('unit tests start no processes (those that run make, git or a program belong to test/integration/)', () => {
  // directly, or through the supervisor's startChild
  const spawning = sources('test/unit').filter(
    (f) => importsOf(f.text).includes('node:child_process') || /\bstartChild\(/.test(f.text),
  );
  assert.equal(
    spawning.map((f) => f.file),
    [],
  );
});

test('only the entry points set process.exitCode', () => {
  assert.equal(
    product
      .filter((f) => /process\.exitCode\s*=/.test(f.text))
      .map((f) => f.file)
      .sort(),
    ['cmd/boot/main.ts', 'cmd/deis-etcd/main.ts', 'cmd/discovery/main.ts', 'cmd/snapshot/main.ts'],
  );
});

test.run();
