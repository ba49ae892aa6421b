// Test runner: runs each *.test.ts file of a suite (unit | integration | e2e) in its own uvu process,
// so a crash or a hung test is contained and its real processes are torn down with it, then prints
// one summary line per suite: "<suite>: N passed, N failed[, N skipped]". .ci/run sums those lines.
//
// Usage: node test/run.ts <suite>[@<etcd minor>]... [--filter REGEX]
//   e.g. `integration@3.7` runs the integration suite against etcd 3.7 (DEIS_ETCD_TEST_ETCD=3.7).
// Env:   DEIS_ETCD_TEST_FILE_TIMEOUT_S  per-file limit (default 600 s; e2e 1200 s)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? new RegExp(args.splice(filterAt, 2)[1] ?? '') : undefined;
const suites = args.length ? args : ['unit', 'integration', 'e2e'];

function testFiles(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

// strips ANSI colour codes so that uvu's totals can be read
const plain = (s: string) => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

let current: number | undefined;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    if (current) {
      try {
        process.kill(-current, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

function runFile(file: string, limitS: number, env: NodeJS.ProcessEnv): Promise<Tally> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'node_modules/uvu/bin.js'),
        '--no-color',
        relative(root, file).replace(/[^/]+$/, ''),
        `${file.split('/').pop()!.replace(/\./g, '\\.')}$`,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
        env: { ...env, FORCE_COLOR: '0' },
      },
    );
    current = child.pid;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      process.stdout.write(`\n  ${relative(root, file)}: no result after ${limitS} s; killing it\n`);
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 10_000).unref();
    }, limitS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = plain(out);
      const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
      const total = num('Total'),
        passed = num('Passed'),
        skipped = num('Skipped') || 0;
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        process.stdout.write(`  ${relative(root, file)}: exited ${code} without a result: counted as 1 failure\n`);
        resolve({ passed: 0, failed: 1, skipped: 0 });
        return;
      }
      // uvu counts a failed test as ran-but-not-passed; an early exit after totals still fails the file
      const failed = Math.max(total - passed, code !== 0 && total === passed ? 1 : 0);
      resolve({ passed, failed, skipped });
    });
  });
}

let exit = 0;
const lines: string[] = [];
for (const label of suites) {
  const [suite, minor] = label.split('@') as [string, string | undefined];
  const env = minor ? { ...process.env, DEIS_ETCD_TEST_ETCD: minor } : process.env;
  const files = testFiles(join(root, 'test', suite)).filter((f) => !filter || filter.test(f));
  const limitS = Number(process.env.DEIS_ETCD_TEST_FILE_TIMEOUT_S ?? (suite === 'e2e' ? 1200 : 600));
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const file of files) {
    process.stdout.write(`\n== ${label}: ${relative(root, file)}\n`);
    const t = await runFile(file, limitS, env);
    tally.passed += t.passed;
    tally.failed += t.failed;
    tally.skipped += t.skipped;
  }
  if (tally.failed) exit = 1;
  lines.push(
    `${label}: ${tally.passed} passed, ${tally.failed} failed${tally.skipped ? `, ${tally.skipped} skipped` : ''}`,
  );
}
process.stdout.write(`\n${lines.join('\n')}\n`);
process.exitCode = exit;
