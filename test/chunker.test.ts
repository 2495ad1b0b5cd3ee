import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FastCDC, type ChunkerParams } from '../src/chunk/fastcdc.js';
import { blake3, blake3Ready } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import { pseudoRandom } from './helpers/tree.js';

function chunkAll(data: Uint8Array, p: ChunkerParams, blockSizes: number[]): Uint8Array[] {
  const cdc = new FastCDC(p);
  const out: Uint8Array[] = [];
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const n = Math.max(1, blockSizes[k++ % blockSizes.length]);
    out.push(...cdc.push(data.slice(off, off + n)));
    off += n;
  }
  out.push(...cdc.finish());
  return out;
}

const paramsArb = fc.integer({ min: 7, max: 13 }).chain((bits) => {
  const avg = 2 ** bits;
  return fc.record({ min: fc.integer({ min: 64, max: avg }), avg: fc.constant(avg), max: fc.integer({ min: avg, max: avg * 8 }) });
});

describe('FastCDC', () => {
  it('chunks concatenate to the input and respect min/max, whatever the block sizes', () => {
    fc.assert(
      fc.property(paramsArb, fc.integer(), fc.integer({ min: 0, max: 200_000 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }), (p, seed, size, blocks) => {
        const data = pseudoRandom(seed, size, seed % 3 === 0);
        const chunks = chunkAll(data, p, blocks);
        const joined = Buffer.concat(chunks);
        expect(joined.equals(Buffer.from(data))).toBe(true);
        chunks.forEach((c, i) => {
          expect(c.length).toBeLessThanOrEqual(p.max);
          if (i < chunks.length - 1) expect(c.length).toBeGreaterThanOrEqual(p.min);
          expect(c.length).toBeGreaterThan(0);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('cuts at the same places however the stream is split into blocks', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 4 }), (seed, blocks) => {
        const p = { min: 1024, avg: 4096, max: 16384 };
        const data = pseudoRandom(seed, 150_000);
        const a = chunkAll(data, p, [1 << 20]).map((c) => c.length);
        const b = chunkAll(data, p, blocks).map((c) => c.length);
        expect(b).toEqual(a);
      }),
      { numRuns: 60 },
    );
  });

  it('inserting bytes near the start leaves most chunk ids unchanged', async () => {
    await blake3Ready();
    const p = { min: 4096, avg: 16384, max: 65536 };
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 4096 }), fc.uint8Array({ minLength: 1, maxLength: 100 }), (seed, at, ins) => {
        const data = pseudoRandom(seed, 2 * 1024 * 1024);
        const edited = Buffer.concat([data.subarray(0, at), ins, data.subarray(at)]);
        const ids = (d: Uint8Array) => chunkAll(d, p, [1 << 20]).map((c) => toHex(blake3(c)));
        const before = ids(data);
        const after = new Set(ids(edited));
        const kept = before.filter((id) => after.has(id)).length;
        expect(kept / before.length).toBeGreaterThan(0.9);
      }),
      { numRuns: 10 },
    );
  });

  it('averages near the configured size on random data', () => {
    const p = { min: 16384, avg: 65536, max: 262144 };
    const chunks = chunkAll(pseudoRandom(7, 16 * 1024 * 1024), p, [1 << 20]);
    const avg = (16 * 1024 * 1024) / chunks.length;
    expect(avg).toBeGreaterThan(p.avg * 0.6);
    expect(avg).toBeLessThan(p.avg * 1.6);
  });

  it('rejects bad parameters with a clear error', () => {
    expect(() => new FastCDC({ min: 10, avg: 1000, max: 2000 })).toThrow(/bad chunker parameters/);
  });
});
