/**
 * Wall-clock time (ms since the epoch) as a value passed in, so code that decides by time (gc's
 * safety window, lock staleness, "held back until") can be tested by moving time forward instead
 * of sleeping. Default: the system clock.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
