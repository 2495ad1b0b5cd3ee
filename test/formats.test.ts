import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blake3Ready } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import { decodeIndex, encodeIndex, type PackRecord } from '../src/repo/index-file.js';
import { decodeManifest, encodeManifest, type Manifest } from '../src/repo/manifest.js';
import { checkPack, decodePackHeader, PackBuilder, parseTrailer, TRAILER } from '../src/repo/pack.js';
import { blake3 } from '../src/hash/blake3.js';
import { decodeConfig, encodeConfig, newConfig } from '../src/repo/config.js';
import { isMobrError } from '../src/errors.js';
import { listedSizeMeta, listedSizeOf, sizeAsListed } from '../src/mo/listed-size.js';
import { fileEntryArb, id32, metaKey, nat } from './helpers/entry-arb.js';

beforeAll(() => blake3Ready());

const dict = fc.dictionary(metaKey, fc.string());
const blob = fc.record({ id: id32, offset: nat, length: nat, rawLength: nat, codec: fc.constantFrom(0, 1) });
const packRecord = fc.record({ id: id32.map(toHex), blobs: fc.array(blob, { maxLength: 20 }) });

const manifestArb: fc.Arbitrary<Manifest> = fc.record({
  version: fc.constant(1 as const),
  id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,40}$/),
  type: fc.constantFrom('full' as const, 'incremental' as const),
  baseId: fc.option(fc.string(), { nil: undefined }),
  backupTs: fc.option(fc.string(), { nil: undefined }),
  startedAt: nat,
  completedAt: nat,
  source: dict,
  files: fc.array(fileEntryArb, { maxLength: 10 }),
  logicalSize: nat,
  addedBytes: nat,
  extra: fc.option(dict, { nil: undefined }),
});

function flipAny(data: Uint8Array, at: number, bit: number): Uint8Array {
  const d = data.slice();
  d[at % d.length] ^= 1 << bit % 8;
  return d;
}

describe('formats', () => {
  it('manifest encode -> decode is identity', () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const back = decodeManifest(encodeManifest(m), 'm');
        expect(back.files.map((f) => f.path)).toEqual(m.files.map((f) => f.path));
        expect(back.files).toEqual(m.files.map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined))));
        expect({ ...back, files: [] }).toEqual(Object.fromEntries(Object.entries({ ...m, files: [] }).filter(([, v]) => v !== undefined)));
      }),
    );
  });

  it('x.listedSize (a tae_list row\'s size that is not the file\'s) survives a manifest round trip; anything else reads as absent', () => {
    const size = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(size, size, dict, (own, listed, other) => {
        const meta = { ...other, ...listedSizeMeta(listed) };
        const m: Manifest = { version: 1, id: 'p', type: 'full', startedAt: 0, completedAt: 0, source: {}, files: [{ path: 'tae/o', kind: 'file', size: own, mode: 0o644, mtimeMs: 0, sha256: new Uint8Array(32), chunks: new Uint8Array(0), meta }], logicalSize: own, addedBytes: 0 };
        const f = decodeManifest(encodeManifest(m), 'm').files[0]!;
        expect(listedSizeOf(f)).toBe(listed);
        expect(sizeAsListed(f, listed) && sizeAsListed(f, own)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (v) => {
        const n = listedSizeOf({ meta: { listedSize: v } });
        expect(n === undefined || String(n) === v).toBe(true);
      }),
    );
    expect(listedSizeOf({ meta: { checksum: '' } })).toBeUndefined(); // every older manifest
    for (const v of ['', '-1', '01', '1e3', ' 5', '99999999999999999']) expect(listedSizeOf({ meta: { listedSize: v } }), v).toBeUndefined();
  });

  it('index encode -> decode is identity', () => {
    fc.assert(
      fc.property(fc.array(packRecord, { maxLength: 10 }), (packs: PackRecord[]) => {
        expect(decodeIndex(encodeIndex(packs), 'i')).toEqual(packs);
      }),
    );
  });

  it('pack header round-trips and is named by its hash', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(id32, fc.uint8Array({ maxLength: 300 })), { maxLength: 12 }), (blobs) => {
        const b = new PackBuilder();
        for (const [id, data] of blobs) b.add(id, data, data.length, 0);
        const pack = b.build();
        const hlen = parseTrailer(pack.bytes.subarray(pack.bytes.length - TRAILER), 'p');
        const dataLen = pack.bytes.length - TRAILER - hlen;
        const header = pack.bytes.subarray(dataLen, dataLen + hlen);
        expect(decodePackHeader(header, pack.id, dataLen, 'p')).toEqual(pack.blobs);
      }),
    );
  });

  it('a builder reused for many packs makes packs whose every byte checks', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean()), { maxLength: 6 }), { minLength: 1, maxLength: 4 }), (packs) => {
        const b = new PackBuilder(64);
        for (const blobs of packs) {
          for (const [data, zstdLike] of blobs) b.add(zstdLike ? blake3(data, data) : blake3(data), data, data.length, zstdLike ? 1 : 0);
          const pack = b.build();
          const r = checkPack(pack.bytes, pack.id, 'p');
          expect(r.dataOk).toBe(true);
          expect(r.blobs).toEqual(pack.blobs);
        }
      }),
    );
  });

  it('config round-trips', () => {
    const c = newConfig();
    expect(decodeConfig(encodeConfig(c), 'c')).toEqual(c);
  });

  it('any flipped bit in a manifest or index is detected', () => {
    fc.assert(
      fc.property(manifestArb, fc.array(packRecord, { maxLength: 4 }), fc.nat(), fc.nat(), (m, packs, at, bit) => {
        for (const [enc, dec] of [
          [encodeManifest(m), (d: Uint8Array) => decodeManifest(d, 'm')],
          [encodeIndex(packs), (d: Uint8Array) => decodeIndex(d, 'i')],
        ] as const) {
          expect(() => dec(flipAny(enc, at, bit))).toThrow();
          try {
            dec(flipAny(enc, at, bit));
          } catch (e) {
            expect(isMobrError(e)).toBe(true);
          }
        }
      }),
    );
  });

  it('random bytes never crash the decoders, only MobrErrors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, withMagic) => {
        const d = withMagic ? new Uint8Array([0x4d, 0x4f, 0x42, 0x52, 0x4d, 1, ...bytes]) : bytes;
        for (const dec of [(x: Uint8Array) => decodeManifest(x, 'm'), (x: Uint8Array) => decodeIndex(x, 'i'), (x: Uint8Array) => decodeConfig(x, 'c')]) {
          try {
            dec(d);
          } catch (e) {
            expect(isMobrError(e)).toBe(true);
          }
        }
        try {
          decodePackHeader(bytes, '00'.repeat(32), 1 << 20, 'p');
        } catch (e) {
          expect(isMobrError(e)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
