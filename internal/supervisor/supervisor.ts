// Runs etcd as a child process: explicit args and env, its log lines re-emitted through our logger,
// readiness by polling its /health endpoint (never a fixed sleep), signal forwarding and a graceful
// stop. The only module that spawns processes.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../clock.ts';
import { DeisError } from '../errors.ts';
import type { Logger, Level } from '../log/log.ts';
import type { Fetch } from '../runtime.ts';

export type SpawnFn = (cmd: string, args: string[], opts: SpawnOptions) => ChildProcess;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  readonly pid: number | undefined;
  /** Settles once the process has exited. */
  readonly exited: Promise<ExitStatus>;
  running(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL once etcd says its server has stopped (STOPPED_MSG) or after graceMs. */
  stop(graceMs: number): Promise<ExitStatus>;
}

/** Finds an executable: a path with a slash is checked as is, a bare name is looked up in PATH. */
export function resolveBinary(name: string, env: NodeJS.ProcessEnv): string {
  const candidates = name.includes('/')
    ? [name]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) {
        accessSync(c, constants.X_OK);
        return c;
      }
    } catch {
      /* next */
    }
  }
  throw new DeisError(
    'environment',
    name.includes('/')
      ? `etcd binary ${name} is missing or not executable: set --etcd-binary to an etcd 3.6+ binary`
      : `no '${name}' executable on PATH: install etcd 3.6+ or set --etcd-binary`,
  );
}

const etcdLevels: Record<string, Level> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  panic: 'error',
  fatal: 'error',
  dpanic: 'error',
};

/** The exit code a shell would report: the code, or 128 + signal number. */
export function exitNumber(s: ExitStatus): number {
  if (s.code !== null) return s.code;
  const n: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (s.signal ? (n[s.signal] ?? 0) : 0);
}

/**
 * Keeps a child's log from flooding ours: at most `perSecond` lines with the same message each
 * second (etcd can repeat one warning thousands of times a second, e.g. "failed to publish local
 * member" while a learner catches up, and a full pipe would stall etcd itself). Returns undefined to
 * drop a line, else how many repeats were dropped since the last one let through.
 */
export function repeatLimiter(now: () => number, perSecond = 5): (key: string) => number | undefined {
  const seen = new Map<string, { second: number; count: number; dropped: number }>();
  return (key) => {
    const second = Math.floor(now() / 1000);
    const e = seen.get(key);
    if (!e || e.second !== second) {
      const dropped = e?.dropped ?? 0;
      seen.set(key, { second, count: 1, dropped: 0 });
      if (seen.size > 1000) seen.clear();
      return dropped;
    }
    if (e.count < perSecond) {
      e.count++;
      return 0;
    }
    e.dropped++;
    return undefined;
  };
}

/**
 * What etcd logs once its server has stopped on SIGTERM: embed.Etcd.Close stops the server (raft loop,
 * WAL and backend closed: EtcdServer.Cleanup) before it closes its peer listeners, then waits up to
 * 1 s for the peers' idle connections (steps 5 and 6 of its shutdown, etcd 3.6 and 3.7). Nothing is
 * left to write by then, so stop() ends the process there instead of waiting out that second.
 */
export const STOPPED_MSG = 'stopping serving peer traffic';

/** Starts cmd with args; each line it prints becomes a log entry ({msg:'etcd', etcd:{...}}). */
export function startChild(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; log: Logger; spawn?: SpawnFn; name?: string; now?: () => number },
): Child {
  const spawn = opts.spawn ?? nodeSpawn;
  const name = opts.name ?? 'etcd';
  const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const limiter = repeatLimiter(opts.now ?? Date.now);
  let done = false;
  let stopping = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      done = true;
      opts.log.error('child failed to start', { child: name, err });
      resolve({ code: 127, signal: null });
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(line) as Record<string, unknown>;
      } catch {
        opts.log.info(name, { line });
        return;
      }
      if (stopping && fields.msg === STOPPED_MSG) child.kill('SIGKILL');
      const level = etcdLevels[String(fields.level)] ?? 'info';
      delete fields.level;
      const dropped = limiter(`${level}:${String(fields.msg)}`);
      if (dropped === undefined) return;
      opts.log[level](name, dropped ? { [name]: fields, repeatsDropped: dropped } : { [name]: fields });
    });
  }
  return {
    pid: child.pid,
    exited,
    running: () => !done,
    signal: (sig) => {
      if (!done) child.kill(sig);
    },
    async stop(graceMs) {
      if (done) return exited;
      stopping = true;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      const s = await exited;
      clearTimeout(t);
      return s;
    },
  };
}

/** GET <clientUrl>/health: true when etcd answers healthy. */
export async function etcdHealthy(fetch: Fetch, clientUrl: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/**
 * Polls check until it is true, the child exits (an 'etcd-exited' error carrying its status) or
 * timeoutMs passes (an 'unreachable' error).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  child: Child | undefined,
  clock: Clock,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (child && !child.running()) {
      const s = await child.exited;
      throw new DeisError('etcd-exited', `etcd exited with ${s.signal ?? `code ${s.code}`} before ${what}`, {
        exitStatus: exitNumber(s),
      });
    }
    if (await check()) return;
    if (clock.now() >= deadline)
      throw new DeisError('unreachable', `${what}: not reached within ${Math.round(timeoutMs / 1000)} s`, {
        retryable: true,
      });
    await clock.sleep(intervalMs);
  }
}
