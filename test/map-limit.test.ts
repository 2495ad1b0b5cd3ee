/** src/util/concurrency.ts: the one "at most N at once" helper (its guarantees, as callers rely on them). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/util/concurrency.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('runs every item once, never more than `limit` at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), async (delays, limit) => {
        let running = 0;
        let peak = 0;
        const seen: number[] = [];
        await mapLimit(delays, limit, async (d, i) => {
          running++;
          peak = Math.max(peak, running);
          await sleep(d);
          seen.push(i);
          running--;
        });
        expect(seen.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
        expect(peak).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 40 },
    );
  });

  it('on a failure starts nothing more, lets running items finish, then throws the first failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const p = mapLimit([0, 1, 2, 3, 4, 5, 6, 7], 3, async (_x, i) => {
      started.push(i);
      if (i === 1) throw new Error('first');
      if (i === 2) {
        await sleep(5);
        throw new Error('second');
      }
      await sleep(20);
      finished.push(i);
    });
    await expect(p).rejects.toThrow('first');
    // 0 and 2 were running when 1 failed; 3 may have started in 1's lane before it noticed: none after
    expect(started.length).toBeLessThanOrEqual(4);
    expect(finished.sort()).toEqual(started.filter((i) => i !== 1 && i !== 2).sort());
  });

  it('names each item\'s lane: below limit, one item at a time per lane', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), async (delays, limit) => {
        const busy = new Set<number>();
        await mapLimit(delays, limit, async (d, _i, lane) => {
          expect(lane).toBeGreaterThanOrEqual(0);
          expect(lane).toBeLessThan(limit);
          expect(busy.has(lane)).toBe(false);
          busy.add(lane);
          await sleep(d);
          busy.delete(lane);
        });
      }),
      { numRuns: 30 },
    );
  });
});
