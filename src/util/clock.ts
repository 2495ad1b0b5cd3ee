/**
 * Wall-clock time (ms since the epoch) as a value passed in, so code that decides by time (gc's
 * safety window, lock staleness, "held back until") can be tested by moving time forward instead
 * of sleeping. Default: the system clock.
 */
export interface Clock {
  now(): number;
}

let skew: () => number = () => 0;

export const systemClock: Clock = { now: () => Date.now() + skew() };

/** Sets the system clock forward or back by `f()` ms (the CLI's test hook MOBR_TEST_CLOCK_SKEW_FILE; spec/cli.md "Test hooks"). */
export function skewSystemClock(f: () => number): void {
  skew = f;
}
