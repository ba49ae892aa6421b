// Bounded retries with exponential back-off for retryable DeisErrors (a dependency that is down or a
// racing writer). Each retry is logged once with its reason, attempt and back-off.
import type { Clock } from './clock.ts';
import { DeisError } from './errors.ts';
import type { Logger } from './log/log.ts';

export interface RetryOptions {
  clock: Clock;
  log: Logger;
  /** Give up after this many attempts (default 8) ... */
  attempts?: number;
  /** ... or once this much time has passed, whichever comes first (default none). */
  deadlineMs?: number;
  baseMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
}

const retryable = (err: unknown) => err instanceof DeisError && err.retryable;

/** Calls fn until it succeeds, a non-retryable error is thrown, or the attempts/deadline run out. */
export async function retry<T>(what: string, fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const attempts = opts.attempts ?? 8;
  const base = opts.baseMs ?? 200;
  const max = opts.maxMs ?? 5000;
  const start = opts.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const elapsed = opts.clock.now() - start;
      const outOfTime = opts.deadlineMs !== undefined && elapsed >= opts.deadlineMs;
      if (!retryable(err) || attempt >= attempts || outOfTime || opts.signal?.aborted) {
        if (retryable(err) && err instanceof DeisError) {
          throw new DeisError(
            err.code,
            `${what}: gave up after ${attempt} attempts in ${Math.round(elapsed / 1000)} s`,
            { cause: err, retryable: err.retryable, reason: err.reason },
          );
        }
        throw err;
      }
      const backoffMs = Math.min(max, base * 2 ** (attempt - 1));
      opts.log.warn('retrying', { op: what, attempt, backoffMs, err });
      await opts.clock.sleep(backoffMs, opts.signal);
    }
  }
}
