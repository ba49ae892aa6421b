// A clock for tests: sleeping advances its time at once and records the duration.
import type { Clock } from '../../internal/clock.ts';

export function fakeClock(start = 0): Clock & { sleeps: number[]; advance(ms: number): void } {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}
