// Real processes for tests, with guaranteed teardown: every process started here is killed when the
// test process exits, however it exits (normal end, failed assertion, uncaught error, SIGTERM/SIGINT
// from the runner's per-file limit). Output goes to a log file that a failing test can print.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or 128+signal) once the process has exited. */
  readonly exited: Promise<number>;
  readonly running: () => boolean;
  readonly log: () => string;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it is gone. */
  stop(graceMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<TestProcess>();
const tempDirs = new Set<string>();

function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  });
}

/** A temp dir removed when the test process exits. */
export function tempDir(prefix = 'deis-etcd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Starts a process whose stdout+stderr go to a log file in logDir. */
/**
 * Starts a process whose stdout+stderr go to a log file in logDir. With `group`, it leads a process
 * group of its own and every signal goes to the whole group (a program and the etcd it runs die
 * together, as a container's processes do).
 */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; logDir: string; cwd?: string; group?: boolean },
): TestProcess {
  const logFile = join(opts.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', fd, fd],
    detached: !!opts.group,
  });
  const send = (sig: NodeJS.Signals) => {
    try {
      if (opts.group && child.pid) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(proc);
      resolve(code ?? 128 + (signal ? (signals[signal] ?? 0) : 0));
    });
    child.once('error', () => {
      done = true;
      live.delete(proc);
      resolve(127);
    });
  });
  const proc: TestProcess = {
    name,
    child,
    logFile,
    exited,
    running: () => !done,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    kill: (signal = 'SIGKILL') => {
      if (!done || opts.group) send(signal);
    },
    async stop(graceMs = 10_000) {
      if (done) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => send('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  live.add(proc);
  return proc;
}

/** Thrown from a waitFor check to stop waiting at once (e.g. the process being waited on exited). */
export class GiveUp extends Error {}

/** Pauses for ms (workload pacing and fault durations; tests wait with waitFor, never a fixed sleep). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls check every intervalMs until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Rejects if p has not settled within ms: no test waits forever on a stuck call. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
