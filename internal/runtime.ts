// What every program runner gets from its entry point: the side effects (logger, clock, env,
// interfaces, the stop signal, HTTP probes, files), passed in so that tests can replace them.
import type { Clock } from './clock.ts';
import type { Files } from './files.ts';
import type { HttpAnswer } from './http-request.ts';
import type { Interfaces } from './identity/identity.ts';
import type { Logger } from './log/log.ts';

/** A GET: the only way runners make HTTP calls (etcd's /health, /metrics), replaced in tests. */
export type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<HttpAnswer>;

/** What every program runner gets from the entry point: side effects passed in, replaceable in tests. */
export interface Runtime {
  log: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  interfaces: Interfaces;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  fetch: Fetch;
  files: Files;
}
