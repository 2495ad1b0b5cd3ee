/** A clock tests move by hand (src/util/clock.ts): time passes only when `advance` is called. */
import type { Clock } from '../../src/util/clock.js';

export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
