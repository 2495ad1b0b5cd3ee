/**
 * The index decoder that fills the compact chunk table straight from an index object's bytes
 * (loadIndexInto, src/repo/index-file.ts) against the way it replaced: decodeIndex into pack
 * records, then addPack. Same table for any index objects (ids repeated within and across
 * objects, locations that do not fit the packed form, look-ups between loads); the same objects
 * refused, and a refused object adds nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex } from '../src/hash/hex.js';
import { ChunkIndex, decodeIndex, encodeIndex, loadIndexInto, type PackRecord } from '../src/repo/index-file.js';
import { seal } from '../src/repo/sealed.js';
import { isMobrError } from '../src/errors.js';
import { blake3Ready } from '../src/hash/blake3.js';

beforeAll(() => blake3Ready());

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Mostly sizes a 16 MiB pack has; sometimes ones the packed form cannot hold. */
const size = (bits: number) => fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** bits - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 2 ** bits, max: 2 ** 40 }) });
const blob = (ids: Uint8Array[]) => fc.record({ id: fc.nat().map((k) => ids[k % ids.length]), offset: size(25), length: size(24), rawLength: size(24), codec: fc.oneof(fc.constantFrom(0, 1), fc.nat(300)) });
const packs = (ids: Uint8Array[], packIds: string[]) => fc.array(fc.record({ id: fc.nat().map((k) => packIds[k % packIds.length]), blobs: fc.array(blob(ids), { maxLength: 20 }) }), { maxLength: 6 });
const pools = fc.tuple(fc.array(id32, { minLength: 1, maxLength: 30 }), fc.array(id32.map(toHex), { minLength: 1, maxLength: 5 }));

function sameTables(a: ChunkIndex, b: ChunkIndex, ids: Uint8Array[]): void {
  const sorted = <T>(e: Iterable<[string, T]>) => [...e].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  expect(b.size).toBe(a.size);
  expect(sorted(b.entries())).toEqual(sorted(a.entries()));
  expect(sorted(b.packSizes)).toEqual(sorted(a.packSizes));
  for (const id of ids) expect(b.getId(id)).toEqual(a.getId(id));
}

describe('loadIndexInto', () => {
  it('fills the table decodeIndex + addPack filled, for any index objects, plain or sealed sizes, with look-ups between loads', () => {
    const objects = ([ids, packIds]: [Uint8Array[], string[]]) => fc.tuple(fc.constant(ids), fc.array(packs(ids, packIds), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.boolean(), fc.integer({ min: 1, max: 40 }));
    fc.assert(
      fc.property(pools.chain(objects), ([ids, objs, lookAfter, sealed, minPending]) => {
        const old = new ChunkIndex({ minPending, sealed });
        const now = new ChunkIndex({ minPending, sealed });
        objs.forEach((o, i) => {
          const data = encodeIndex(o);
          for (const p of decodeIndex(data, `index/${i}`)) old.addPack(p);
          loadIndexInto(now, data, `index/${i}`);
          if (lookAfter[i]) sameTables(old, now, ids.slice(0, 3)); // a look-up makes pending chunks go through a Map
        });
        sameTables(old, now, ids);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses exactly the bodies decodeIndex refuses, with CORRUPT_INDEX, adding nothing', () => {
    // a map with a __proto__ key (JSON.parse makes it an own key) is refused by decode wherever it lies
    const junk = fc.oneof({ weight: 12, arbitrary: fc.anything({ maxDepth: 2, withObjectString: false }) }, { weight: 1, arbitrary: fc.constant(JSON.parse('{"__proto__": 1}') as unknown) });
    const row = fc.oneof({ weight: 4, arbitrary: fc.tuple(id32, fc.nat(), fc.nat(), fc.nat(), fc.nat(1)) }, { weight: 1, arbitrary: fc.array(fc.oneof(id32, fc.integer({ min: -3, max: 300 }), fc.double(), junk), { maxLength: 6 }) }, { weight: 1, arbitrary: junk });
    const pack = fc.oneof({ weight: 4, arbitrary: fc.record({ id: fc.oneof({ weight: 6, arbitrary: id32 }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: junk }), blobs: fc.oneof({ weight: 6, arbitrary: fc.array(row, { maxLength: 4 }) }, { weight: 1, arbitrary: junk }) }, { requiredKeys: [] }) }, { weight: 1, arbitrary: junk });
    const body = fc.oneof({ weight: 6, arbitrary: fc.record({ packs: fc.array(pack, { maxLength: 4 }), other: junk }, { requiredKeys: ['packs'] }) }, { weight: 1, arbitrary: junk });
    let refused = 0;
    fc.assert(
      fc.property(body, (b) => {
        const data = seal('I', 1, b);
        const before = new ChunkIndex();
        before.addPack({ id: 'f'.repeat(64), blobs: [{ id: new Uint8Array(32).fill(7), offset: 0, length: 1, rawLength: 1, codec: 0 }] });
        let want: PackRecord[] | undefined;
        try {
          want = decodeIndex(data, 'index/x');
        } catch (e) {
          expect(isMobrError(e, 'CORRUPT_INDEX')).toBe(true);
        }
        const t = new ChunkIndex();
        t.addPack({ id: 'f'.repeat(64), blobs: [{ id: new Uint8Array(32).fill(7), offset: 0, length: 1, rawLength: 1, codec: 0 }] });
        let err: unknown;
        try {
          loadIndexInto(t, data, 'index/x');
        } catch (e) {
          err = e;
        }
        if (want === undefined) {
          refused++;
          expect(isMobrError(err, 'CORRUPT_INDEX')).toBe(true);
          sameTables(before, t, []);
        } else {
          expect(err).toBeUndefined();
          for (const p of want) before.addPack(p);
          sameTables(before, t, []);
        }
      }),
      { numRuns: 250 },
    );
    expect(refused).toBeGreaterThan(30); // the generator makes both kinds
  });

  it('holds 24,000 chunks loaded from index objects (16 to a pack, 30 packs an object) in at most 48 bytes per chunk of typed arrays', () => {
    const index = new ChunkIndex();
    let seed = 1;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let o = 0; o < 24_000 / 480; o++) {
      const packs: PackRecord[] = Array.from({ length: 30 }, (_, p) => ({
        id: (o * 30 + p).toString(16).padStart(64, '0'),
        blobs: Array.from({ length: 16 }, (_, i) => {
          const id = new Uint8Array(32);
          for (let k = 0; k < 32; k += 4) new DataView(id.buffer).setUint32(k, next());
          return { id, offset: i * 1_048_576, length: 1_048_576, rawLength: 1_048_576, codec: 1 };
        }),
      }));
      loadIndexInto(index, encodeIndex(packs), `index/${o}`);
    }
    index.compact();
    expect(index.size).toBe(24_000);
    expect(index.arrayBytes / index.size).toBeLessThanOrEqual(48);
  });
});
