// What every program runner gets from its entry point: the side effects (logger, clock, env,
// interfaces, the stop signal, file reads), passed in so that tests can replace them.
import type { Clock } from './clock.ts';
import type { Interfaces } from './identity/identity.ts';
import type { Logger } from './log/log.ts';

/** What every program runner gets from the entry point: side effects passed in, replaceable in tests. */
export interface Runtime {
  log: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  interfaces: Interfaces;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  readFile: (path: string) => Promise<string | undefined>;
}

