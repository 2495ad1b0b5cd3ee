/**
 * expectedPackSize (src/repo/index-file.ts) predicts a pack file's size from its index record
 * alone; backups compare it with a listing of data/ to find damaged packs without reading them.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { blake3Ready } from '../src/hash/blake3.js';
import { expectedPackSize } from '../src/repo/index-file.js';
import { PackBuilder, TRAILER } from '../src/repo/pack.js';

const blob = fc.record({
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  stored: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  rawLength: fc.oneof(fc.nat(200), fc.nat(70_000), fc.integer({ min: 0, max: 2 ** 40 })),
  codec: fc.nat(300),
});

describe('expectedPackSize', () => {
  it('equals the size of the pack PackBuilder writes', async () => {
    await blake3Ready();
    fc.assert(
      fc.property(fc.array(blob, { minLength: 1, maxLength: 40 }), (blobs) => {
        const b = new PackBuilder(1024);
        for (const x of blobs) b.add(x.id, x.stored, x.rawLength, x.codec);
        const built = b.build();
        const want = expectedPackSize({ id: built.id, blobs: built.blobs });
        expect(want).toBe(built.bytes.length);
      }),
      { numRuns: Number(process.env.MOBR_FUZZ_RUNS ?? 300) },
    );
  });

  it('counts large offsets and arrays of 16 and 65536 entries as msgpack does', () => {
    for (const n of [15, 16, 65_535, 65_536]) {
      const blobs = Array.from({ length: n }, (_, i) => ({ id: new Uint8Array(32), offset: i, length: 1, rawLength: 2 ** 33, codec: 1 }));
      const header = encode({ v: 1, blobs: blobs.map((x) => [x.id, x.offset, x.length, x.rawLength, x.codec]), h: new Uint8Array(32) });
      expect(expectedPackSize({ id: '', blobs })).toBe(n + header.length + TRAILER);
    }
  });
});
