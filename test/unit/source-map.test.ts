// build/source-map.ts: a map trimmed to our sources still maps our positions as the full map does,
// maps a dependency's positions to nothing (not to our code before them on the same line), and keeps
// only our sources and names. Checked with Node's own SourceMap reader on a real esbuild bundle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { ownSource, trimSourceMap, type RawSourceMap } from '../../build/source-map.ts';
import { repoRoot } from '../../build/bundle.ts';

/** internal/retry.ts and cockatiel (a dependency), bundled into one minified line per chunk. */
async function fullMap(): Promise<{ map: RawSourceMap; code: string }> {
  const r = await esbuild.build({
    stdin: {
      contents:
        "import { Policy } from 'cockatiel';\nimport * as retry from './internal/retry.ts';\n" +
        'console.log(Policy, retry);\n',
      resolveDir: repoRoot,
      sourcefile: 'entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minifyWhitespace: true,
    sourcemap: 'external',
    sourcesContent: false,
    write: false,
    outfile: join(repoRoot, 'dist/test-out.cjs'),
    logLevel: 'error',
  });
  const file = (ext: string) => r.outputFiles.find((f) => f.path.endsWith(ext))!.text;
  return { map: JSON.parse(file('.map')) as RawSourceMap, code: file('.cjs') };
}

test('trimmed: only our sources, same answers for our positions, nothing for a dependency', async () => {
  const { map, code } = await fullMap();
  const trimmed = trimSourceMap(map, ownSource);
  assert.ok(map.sources.some((s) => s.includes('node_modules/cockatiel')));
  assert.ok(trimmed.sources.length > 0 && trimmed.sources.every(ownSource), trimmed.sources.join(' '));
  const full = new SourceMap(map as never);
  const small = new SourceMap(trimmed as never);
  const lines = code.split('\n');
  let ours = 0;
  let theirs = 0;
  for (let line = 0; line < lines.length; line++) {
    for (let col = 0; col < lines[line]!.length; col += 7) {
      const want = full.findEntry(line, col) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
      };
      const got = small.findEntry(line, col) as typeof want;
      if (!want.originalSource) continue;
      if (ownSource(want.originalSource)) {
        ours++;
        assert.equal(
          [got.originalSource, got.originalLine, got.originalColumn],
          [want.originalSource, want.originalLine, want.originalColumn],
          `line ${line} col ${col}`,
        );
      } else {
        theirs++;
        assert.not.ok(
          got.originalSource,
          `line ${line} col ${col}: ${want.originalSource} mapped to ${got.originalSource}`,
        );
      }
    }
  }
  assert.ok(ours > 20 && theirs > 20, `${ours} of our positions, ${theirs} of theirs checked`);
});

test('ownSource: .ts files outside node_modules', () => {
  for (const [source, want] of [
    ['internal/cli.ts', true],
    ['../internal/cli.ts', true],
    ['../node_modules/etcd3/lib/index.js', false],
    ['node_modules/@kubernetes/client-node/dist/index.ts', false],
    ['boot-entry.ts', true],
  ] as const) {
    assert.is(ownSource(source), want, source);
  }
});

test.run();
