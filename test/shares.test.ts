/**
 * The share planner of a backup ingested by several processes (src/mo/shares.ts, spec/scale.md
 * §2): properties over random file lists and share counts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cutShares, shareBytes, MAX_SHARES } from '../src/mo/shares.js';
import { isMobrError } from '../src/errors.js';

const files = fc.uniqueArray(
  fc.record({ rel: fc.stringMatching(/^[a-z0-9_/]{1,12}$/), size: fc.oneof(fc.nat(1000), fc.nat(50_000_000), fc.constant(0)) }),
  { selector: (f) => f.rel, maxLength: 200 },
);
const k = fc.integer({ min: 1, max: 40 });

describe('cutShares', () => {
  it('every file is in exactly one share, and the shares in order are the files in path order', () => {
    fc.assert(
      fc.property(files, k, (fs, n) => {
        const shares = cutShares(fs, n);
        expect(shares).toHaveLength(n);
        const flat = shares.flat();
        const sorted = [...fs].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
        expect(flat).toEqual(sorted);
        expect(new Set(flat).size).toBe(fs.length);
      }),
      { numRuns: 300 },
    );
  });

  it('every share is within one largest file of total/k bytes', () => {
    fc.assert(
      fc.property(files, k, (fs, n) => {
        const total = fs.reduce((s, f) => s + f.size, 0);
        const largest = fs.reduce((m, f) => Math.max(m, f.size), 0);
        for (const s of cutShares(fs, n)) expect(Math.abs(shareBytes(s) - total / n)).toBeLessThanOrEqual(largest);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order it is given the files in', () => {
    fc.assert(
      fc.property(files, k, fc.nat(), (fs, n, seed) => {
        const shuffled = [...fs].sort((a, b) => ((a.rel.charCodeAt(0) * 31 + seed) % 7) - ((b.rel.charCodeAt(0) * 31 + seed) % 7));
        expect(cutShares(shuffled, n)).toEqual(cutShares(fs, n));
      }),
      { numRuns: 100 },
    );
  });

  it('equal files split evenly; a bad share count is BAD_INPUT', () => {
    const same = Array.from({ length: 12 }, (_, i) => ({ rel: `tae/${String(i).padStart(2, '0')}`, size: 100 }));
    expect(cutShares(same, 3).map((s) => s.length)).toEqual([4, 4, 4]);
    expect(cutShares(same, 5).map(shareBytes)).toEqual([300, 200, 300, 200, 200]);
    for (const bad of [0, -1, 1.5, MAX_SHARES + 1, Number.NaN]) {
      let err: unknown;
      try {
        cutShares(same, bad);
      } catch (e) {
        err = e;
      }
      expect(isMobrError(err, 'BAD_INPUT')).toBe(true);
    }
  });
});
