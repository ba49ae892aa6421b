// The install policy, read from package.json and package-lock.json (no npm run): every locked package
// with an install script has an explicit allowScripts entry (true where the script is needed, false
// where it is not), and no entry names a package the lock no longer holds; the project pins Node
// through the `node` package and checks the version at run time (the bundles' banner), so it carries
// no `engines` field for npm, which runs on the machine's older Node, to warn about; nothing is listed
// that nothing uses (pkg, see docs/packaging.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines?: unknown;
  allowScripts?: Record<string, boolean>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

/** 'node_modules/a/node_modules/@s/b' -> '@s/b' */
const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
const withScripts = [
  ...new Set(
    Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript)
      .map(([path]) => nameOf(path)),
  ),
].sort();
const allow = pkg.allowScripts ?? {};

test('every locked package with an install script has an allowScripts entry', () => {
  const missing = withScripts.filter((name) => !(name in allow));
  assert.equal(missing, [], `add these to package.json allowScripts (true only if needed): ${missing.join(', ')}`);
});

test('allowScripts names only locked packages with install scripts', () => {
  const stale = Object.keys(allow).filter((name) => !withScripts.includes(name));
  assert.equal(stale, [], `remove from allowScripts: ${stale.join(', ')}`);
});

test('only the scripts that are needed run: node (installs the binary) and deno (links its binary)', () => {
  const allowed = Object.entries(allow)
    .filter(([, on]) => on)
    .map(([name]) => name)
    .sort();
  assert.equal(allowed, ['deno', 'node']);
});

test('no engines field for npm to warn about; Node is the pinned node package', () => {
  assert.is(pkg.engines, undefined);
  assert.match(pkg.devDependencies.node ?? '', /^24\.\d+\.\d+$/);
});

test('pkg is not listed: the executable is built with Node SEA and postject (build/sea.ts)', () => {
  assert.not.ok('@yao-pkg/pkg' in pkg.devDependencies || '@yao-pkg/pkg' in pkg.dependencies);
  assert.ok('postject' in pkg.devDependencies);
});

test.run();
