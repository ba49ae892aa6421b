// Writes the flag/env tables into README.md between their markers, from the option tables that also
// drive yargs, so the README cannot drift from --help. `node build/docs.ts --check` fails if it has.
import { readFileSync, writeFileSync } from 'node:fs';
import { bootOptions } from '../internal/config/boot.ts';
import { discoveryOptions } from '../internal/config/discovery.ts';
import { snapshotOptions } from '../internal/config/snapshot.ts';
import { markdownTable } from '../internal/config/options.ts';
import { statusOptions } from '../internal/config/status.ts';

const path = new URL('../README.md', import.meta.url).pathname;

export function renderReadme(text: string): string {
  let out = text;
  for (const [name, specs] of [
    ['boot', bootOptions],
    ['discovery', discoveryOptions],
    ['snapshot', snapshotOptions],
    ['status', statusOptions],
  ] as const) {
    const begin = `<!-- options:${name}:begin -->`;
    const end = `<!-- options:${name}:end -->`;
    const a = out.indexOf(begin);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md lacks the ${begin} ... ${end} markers`);
    out = `${out.slice(0, a + begin.length)}\n${markdownTable(specs)}\n${out.slice(b)}`;
  }
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const text = readFileSync(path, 'utf8');
  const next = renderReadme(text);
  if (process.argv.includes('--check')) {
    if (next !== text) {
      console.error('README.md option tables are out of date: run node build/docs.ts');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(path, next);
  }
}
