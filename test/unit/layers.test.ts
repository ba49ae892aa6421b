// The layering rules, checked on the sources: each library is imported by its one adapter, only the
// supervisor spawns processes, the membership decisions import nothing with side effects, and the
// product never imports test code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const product = [...files(join(root, 'internal')), ...files(join(root, 'cmd'))].map((f) => ({ file: relative(root, f), text: readFileSync(f, 'utf8') }));
const importsOf = (text: string) => [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

const rules: { name: string; module: RegExp; allowed: RegExp }[] = [
  { name: 'etcd3 only in internal/etcd', module: /^etcd3$|^cockatiel$/, allowed: /^internal\/etcd\// },
  { name: '@kubernetes/client-node only in internal/k8s', module: /^@kubernetes\/client-node$/, allowed: /^internal\/k8s\// },
  { name: 'child_process only in internal/supervisor', module: /^node:child_process$/, allowed: /^internal\/supervisor\// },
  { name: 'yargs only in internal/config', module: /^yargs/, allowed: /^internal\/config\// },
];
for (const rule of rules) {
  test(rule.name, () => {
    const offenders = product.filter((f) => importsOf(f.text).some((m) => rule.module.test(m)) && !rule.allowed.test(f.file)).map((f) => f.file);
    assert.equal(offenders, []);
  });
}

test('internal/membership is pure: it imports nothing but itself', () => {
  for (const f of product.filter((x) => x.file.startsWith('internal/membership/'))) {
    assert.equal(importsOf(f.text).filter((m) => !/^\.\/[a-z-]+\.ts$/.test(m)), [], f.file);
  }
});

test('runners reach files, HTTP and timers only through the Runtime', () => {
  const runners = product.filter((f) => /^internal\/(boot|discovery)\//.test(f.file));
  const direct = /^import[^'"]*['"]node:fs(\/promises)?['"]|\bfetch\(|\bset(Timeout|Interval)\(/m;
  assert.equal(runners.filter((f) => direct.test(f.text.replace(/\b(src|ctx|d|rt)\.fetch\(/g, ''))).map((f) => f.file), []);
});

test('the product never imports test code', () => {
  assert.equal(product.filter((f) => importsOf(f.text).some((m) => m.includes('/test/'))).map((f) => f.file), []);
});

test('only the entry points set process.exitCode', () => {
  assert.equal(product.filter((f) => /process\.exitCode\s*=/.test(f.text)).map((f) => f.file).sort(), ['cmd/boot/main.ts', 'cmd/deis-etcd/main.ts', 'cmd/discovery/main.ts']);
});

test.run();
