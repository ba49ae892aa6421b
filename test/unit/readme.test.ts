// The README's flag/env tables are the ones the option tables render (the same tables drive --help).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { renderReadme } from '../../build/docs.ts';

test('README option tables are up to date (run: node build/docs.ts)', () => {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(renderReadme(text) === text, 'README.md option tables differ from internal/config: run node build/docs.ts');
});

test.run();
