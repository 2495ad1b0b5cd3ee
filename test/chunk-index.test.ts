/**
 * The compact chunk index (src/repo/chunk-index.ts) against the Map it replaced: any sequence of
 * added packs (ids repeated within and across packs, locations that fit the packed form and ones
 * that do not), dropped packs and look-ups gives the same answers, with merges forced often; and
 * gc's live set (src/repo/id-set.ts) against the Set of hex strings it replaced.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex } from '../src/hash/hex.js';
import { ChunkIndex, type ChunkLocation, type PackRecord } from '../src/repo/index-file.js';
import { IdSet } from '../src/repo/id-set.js';

/** The index as it was: a Map of hex ids to the first location added, and further copies by id. */
class MapIndex {
  readonly map = new Map<string, ChunkLocation>();
  readonly more = new Map<string, ChunkLocation[]>();
  addPack(p: PackRecord): void {
    for (const b of p.blobs) {
      const key = toHex(b.id);
      const loc = { pack: p.id, offset: b.offset, length: b.length, rawLength: b.rawLength, codec: b.codec };
      const first = this.map.get(key);
      if (!first) this.map.set(key, loc);
      else if (first.pack !== p.id) this.more.set(key, [...(this.more.get(key) ?? []), loc]);
    }
  }
  dropPacks(ids: ReadonlySet<string>): void {
    for (const [k, loc] of this.map) {
      if (!ids.has(loc.pack)) continue;
      const other = this.more.get(k)?.find((l) => !ids.has(l.pack));
      if (other) this.map.set(k, other);
      else this.map.delete(k);
    }
    for (const [k, locs] of this.more) {
      const rest = locs.filter((l) => !ids.has(l.pack));
      if (rest.length === 0) this.more.delete(k);
      else if (rest.length < locs.length) this.more.set(k, rest);
    }
  }
}

const idPool = fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 });
const packIds = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(64));
/** Mostly sizes a 16 MiB pack has; sometimes ones the packed form cannot hold. */
const size = (bits: number) => fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** bits - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 2 ** bits, max: 2 ** 40 }) });

type Op = { t: 'add'; pack: number; blobs: { id: number; offset: number; length: number; rawLength: number; codec: number }[] } | { t: 'drop'; packs: number[] } | { t: 'look'; id: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('add' as const), pack: fc.nat(4), blobs: fc.array(fc.record({ id: fc.nat(), offset: size(25), length: size(24), rawLength: size(24), codec: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat(9) }) }), { maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), packs: fc.array(fc.nat(4), { maxLength: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('look' as const), id: fc.nat() }) },
);

function run(ids: Uint8Array[], ops: Op[], minPending: number): void {
  const model = new MapIndex();
  const index = new ChunkIndex({ minPending });
  const hex = ids.map(toHex);
  for (const o of ops) {
    if (o.t === 'add') {
      const p: PackRecord = { id: packIds[o.pack], blobs: o.blobs.map((b) => ({ ...b, id: ids[b.id % ids.length] })) };
      model.addPack(p);
      index.addPack(p);
    } else if (o.t === 'drop') {
      const set = new Set(o.packs.map((k) => packIds[k]));
      model.dropPacks(set);
      index.dropPacks(set);
    } else {
      const k = o.id % ids.length;
      expect(index.get(hex[k])).toEqual(model.map.get(hex[k]));
      expect(index.getId(ids[k])).toEqual(model.map.get(hex[k]));
      expect(index.has(hex[k])).toBe(model.map.has(hex[k]));
    }
  }
  expect(index.size).toBe(model.map.size);
  const sorted = (e: Iterable<[string, ChunkLocation]>) => [...e].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  expect(sorted(index.entries())).toEqual(sorted(model.map.entries()));
  for (const h of hex) expect(index.get(h)).toEqual(model.map.get(h));
}

describe('compact chunk index', () => {
  it('answers as the Map of hex ids did, for any adds, drops and look-ups (merges forced often)', () => {
    fc.assert(fc.property(idPool, fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (ids, ops, minPending) => run(ids, ops, minPending)), { numRuns: 300 });
  });

  it('answers the same with the default merge threshold', () => {
    fc.assert(fc.property(idPool, fc.array(op, { maxLength: 40 }), (ids, ops) => run(ids, ops, 65536)), { numRuns: 100 });
  });

  it('finds nothing for strings that are not lower-case 64-digit hex', () => {
    const index = new ChunkIndex();
    const id = new Uint8Array(32).fill(0xab);
    index.addPack({ id: 'a'.repeat(64), blobs: [{ id, offset: 0, length: 1, rawLength: 1, codec: 0 }] });
    expect(index.get(toHex(id))).toEqual({ pack: 'a'.repeat(64), offset: 0, length: 1, rawLength: 1, codec: 0 });
    for (const s of [toHex(id).toUpperCase(), toHex(id).slice(1), `${toHex(id)}0`, 'zz'.repeat(32), '']) expect(index.get(s)).toBeUndefined();
  });

  it('holds 48,000 chunks of 16 to a pack in at most 48 bytes per chunk of typed arrays', () => {
    const index = new ChunkIndex();
    let seed = 1;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let p = 0; p < 48_000 / 16; p++) {
      const blobs = Array.from({ length: 16 }, (_, i) => {
        const id = new Uint8Array(32);
        for (let k = 0; k < 32; k += 4) new DataView(id.buffer).setUint32(k, next());
        return { id, offset: i * 1_048_576, length: 1_048_576, rawLength: 1_048_576, codec: 1 };
      });
      index.addPack({ id: p.toString(16).padStart(64, '0'), blobs });
    }
    index.compact();
    expect(index.size).toBe(48_000);
    expect(index.arrayBytes / index.size).toBeLessThanOrEqual(48);
  });
});

describe("gc's live set (IdSet)", () => {
  it('answers as a Set of hex strings did, for any adds and look-ups (ids, repeats, strings that are no id)', () => {
    const item = fc.oneof({ weight: 8, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex) }, { weight: 1, arbitrary: fc.string({ maxLength: 70 }) });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 200, size: 'max' }), fc.array(fc.tuple(fc.boolean(), fc.nat()), { minLength: 100, maxLength: 400 }), (pool, ops) => {
        const model = new Set<string>();
        const set = new IdSet();
        // an id goes in and is asked for as its hex string or as its bytes (addId, hasId: what gc uses)
        const bytes = (x: string) => (/^[0-9a-f]{64}$/.test(x) ? Uint8Array.from(Buffer.from(x, 'hex')) : undefined);
        for (const [add, k] of ops) {
          const x = pool[k % pool.length];
          const b = k % 2 === 0 ? bytes(x) : undefined;
          if (add) {
            model.add(x);
            if (b) set.addId(b);
            else set.add(x);
          } else expect(b ? set.hasId(b) : set.has(x)).toBe(model.has(x));
        }
        expect(set.size).toBe(model.size);
        expect([...set].sort()).toEqual([...model].sort());
        for (const x of pool) expect(set.has(x)).toBe(model.has(x));
      }),
      { numRuns: 200 },
    );
  });
});
