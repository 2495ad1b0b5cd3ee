/**
 * Codec 1 (zstd, spec/repository.md §5.2) with both encoders of src/chunk/zstd.ts: the native
 * binding and the WASM fallback write plain frames that declare their size and decode to the
 * chunk; the fallback is taken when the binding cannot load, misbehaves, or MOBR_ZSTD=wasm,
 * also inside the worker pool.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CODEC_NONE, CODEC_ZSTD, codecReady, decodeChunk, encodeChunk } from '../src/chunk/codec.js';
import { NATIVE_FROM, createZstd, loadNativeZstd, withContentSize, zstdBackend, zstdFramesBuilt, type ZstdEncoder } from '../src/chunk/zstd.js';
import { decompress as oldReaderDecompress } from '@bokuweb/zstd-wasm';
import { WorkerPool } from '../src/workers/pool.js';
import type { DataMessage } from '../src/workers/tasks.js';
import { pseudoRandom } from './helpers/tree.js';

await codecReady();
const native = await createZstd({ prefer: 'native' });
const wasm = await createZstd({ prefer: 'wasm' });

/** Frame_Content_Size as declared in a frame header (RFC 8878 §3.1.1.1), or undefined. */
function declaredSize(f: Uint8Array): number | undefined {
  const fhd = f[4];
  const single = (fhd & 0x20) !== 0;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fhd >> 6];
  if (fcsBytes === 0) return undefined;
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3];
  const v = Buffer.from(f.subarray(at, at + fcsBytes));
  return fcsBytes === 1 ? v[0] : fcsBytes === 2 ? v.readUInt16LE(0) + 256 : fcsBytes === 4 ? v.readUInt32LE(0) : Number(v.readBigUInt64LE(0));
}

/** Chunks from incompressible to very compressible, up to 5 MiB (past the WASM decoder's 1 MiB default). */
const chunkArb = fc
  .record({ seed: fc.integer(), size: fc.integer({ min: 512, max: 5 << 20 }), kind: fc.constantFrom('random', 'nibbles', 'half zeros') })
  .map(({ seed, size, kind }) => {
    const d = pseudoRandom(seed, size, kind === 'nibbles');
    if (kind === 'half zeros') for (let i = 0; i < size; i += 8192) d.fill(0, i, i + 4096);
    return d;
  });

describe('zstd codec', () => {
  it('loads the native encoder on this platform, and the WASM one when asked', () => {
    expect(native.backend).toBe('native');
    expect(wasm.backend).toBe('wasm');
    expect(zstdBackend()).toBe(process.env.MOBR_ZSTD === 'wasm' ? 'wasm' : 'native');
  });

  for (const [name, z] of [['native', native], ['wasm', wasm]] as [string, ZstdEncoder][]) {
    it(`${name} frames declare their size and decode to the chunk, at levels 1 and 3`, () => {
      fc.assert(
        fc.property(chunkArb, fc.constantFrom(1, 3), (plain, level) => {
          const f = z.compress(plain, level);
          expect(declaredSize(f)).toBe(plain.length);
          expect(Buffer.from(decodeChunk(f, CODEC_ZSTD, plain.length)).equals(Buffer.from(plain))).toBe(true);
          // as mobr 0.1.0 reads it: no size given, the decoder sizes its output from the header
          expect(Buffer.from(oldReaderDecompress(f)).equals(Buffer.from(plain))).toBe(true);
        }),
        { numRuns: 25 },
      );
    }, 60_000);
  }

  it('a frame whose size disagrees with rawLength, or that is cut short, is CORRUPT', () => {
    const plain = pseudoRandom(3, 200_000, true);
    for (const z of [native, wasm]) {
      const f = z.compress(plain, 3);
      expect(() => decodeChunk(f, CODEC_ZSTD, plain.length - 1)).toThrow(/zstd frame/);
      expect(() => decodeChunk(f.subarray(0, f.length - 9), CODEC_ZSTD, plain.length)).toThrow(/zstd frame/);
    }
  });

  it("compressedSize is the length compress returns (native: within 1%, it may measure with WASM; the 'auto' sample uses it)", () => {
    fc.assert(
      fc.property(chunkArb.map((d) => d.subarray(0, 64 * 1024)), fc.constantFrom(1, 3), (d, level) => {
        expect(wasm.compressedSize(d, level)).toBe(wasm.compress(d, level).length);
        expect(Math.abs(native.compressedSize(d, level) - native.compress(d, level).length)).toBeLessThanOrEqual(16 + d.length / 100);
      }),
      { numRuns: 30 },
    );
  });

  it("'auto' builds no zstd frame in JS memory for a random chunk (stored as is), and still compresses a compressible one", () => {
    const built = (f: () => void): number => {
      const before = zstdFramesBuilt.count;
      f();
      return zstdFramesBuilt.count - before;
    };
    // a small chunk (no sample: the whole chunk is tried) and a big one (its 64 KiB sample), each
    // after a compressible one, so the native encoder's sample starts on the binding
    for (const size of [600, 8000, 12_000, 1 << 20]) {
      const random = pseudoRandom(size, size);
      const text = pseudoRandom(size + 1, size, true);
      for (let round = 0; round < 2; round++) {
        let e = encodeChunk(text, 'auto');
        expect(built(() => (e = encodeChunk(text, 'auto'))), `${size} B compressible`).toBeGreaterThan(0);
        expect(e.codec).toBe(CODEC_ZSTD);
        expect(e.stored.length).toBeLessThan(size * 0.7);
        expect(Buffer.from(decodeChunk(e.stored, CODEC_ZSTD, size)).equals(Buffer.from(text))).toBe(true);
        encodeChunk(random, 'auto'); // the first random sample after a compressible one may use the binding
        let r = encodeChunk(random, 'auto');
        expect(built(() => (r = encodeChunk(random, 'auto'))), `${size} B random`).toBe(0);
        expect(r.codec).toBe(CODEC_NONE);
        expect(r.stored).toBe(random);
      }
    }
  });

  it("the WASM encoder without its heap (compressUsingDict per call) makes the same frames and sizes, and compressBelow's choice", async () => {
    const plain = await createZstd({ prefer: 'wasm', copyPerCall: true });
    for (const [seed, size, text] of [[1, 600, false], [2, 600, true], [3, 70_000, false], [4, 70_000, true], [5, 3 << 20, true]] as const) {
      const d = pseudoRandom(seed, size, text);
      const f = wasm.compress(d, 3);
      expect(Buffer.from(plain.compress(d, 3)).equals(Buffer.from(f)), `${size} B`).toBe(true);
      expect(plain.compressedSize(d, 1)).toBe(wasm.compressedSize(d, 1));
      for (const z of [plain, wasm]) {
        const below = z.compressBelow(d, 3, d.length);
        if (text) expect(Buffer.from(below!).equals(Buffer.from(f))).toBe(true);
        else expect(below).toBeUndefined();
      }
    }
  });

  it('the native encoder hands a chunk under NATIVE_FROM to the reused WASM context (no compressor built per call)', () => {
    for (const [size, text] of [[512, true], [NATIVE_FROM - 1, false], [NATIVE_FROM - 1, true]] as const) {
      const d = pseudoRandom(size, size, text);
      expect(Buffer.from(native.compress(d, 3)).equals(Buffer.from(wasm.compress(d, 3))), `${size} bytes`).toBe(true);
      expect(native.compressedSize(d, 1)).toBe(wasm.compressedSize(d, 1));
    }
    // from NATIVE_FROM on, the binding's streamed frame (its size added after, no single-segment flag)
    const big = pseudoRandom(9, NATIVE_FROM, true);
    const f = native.compress(big, 3);
    expect(Buffer.from(f).equals(Buffer.from(wasm.compress(big, 3)))).toBe(false);
    expect(f[4] & 0x20).toBe(0);
    expect(declaredSize(f)).toBe(big.length);
  });

  it('withContentSize adds the size to a frame without one, and leaves sized frames alone', () => {
    const plain = pseudoRandom(4, 3 << 20, true);
    const sized = wasm.compress(plain, 3);
    expect(withContentSize(sized, plain.length)).toBe(sized);
    // a streamed frame: Frame_Header_Descriptor 0 (no size), window byte, then blocks
    const n = loadNativeZstd()!;
    const streamed = new n.Encoder(3).encodeSync(plain);
    expect(declaredSize(streamed)).toBeUndefined();
    const fixed = withContentSize(streamed, plain.length);
    expect(fixed.length).toBe(streamed.length + 4);
    expect(declaredSize(fixed)).toBe(plain.length);
    expect(Buffer.from(decodeChunk(fixed, CODEC_ZSTD, plain.length)).equals(Buffer.from(plain))).toBe(true);
    // and the reader needs no size in the header: rawLength sizes the output
    expect(Buffer.from(decodeChunk(streamed, CODEC_ZSTD, plain.length)).equals(Buffer.from(plain))).toBe(true);
  });

  it('falls back to WASM when the binding cannot load, misbehaves, or MOBR_ZSTD=wasm', async () => {
    expect(loadNativeZstd('@toondepauw/node-zstd-no-such-platform')).toBeUndefined();
    expect((await createZstd({ load: () => undefined })).backend).toBe('wasm');
    expect((await createZstd({ load: () => loadNativeZstd('@toondepauw/node-zstd-no-such-platform') })).backend).toBe('wasm');
    const garbage = { Encoder: class { encodeSync(d: Uint8Array) { return d.slice(0, 100); } } };
    expect((await createZstd({ load: () => garbage })).backend).toBe('wasm');
    const throws = { Encoder: class { encodeSync(): Uint8Array { throw new Error('boom'); } } };
    expect((await createZstd({ load: () => throws })).backend).toBe('wasm');
    const saved = process.env.MOBR_ZSTD;
    process.env.MOBR_ZSTD = 'wasm';
    try {
      expect((await createZstd()).backend).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.MOBR_ZSTD;
      else process.env.MOBR_ZSTD = saved;
    }
  });

  it("policy 'auto' stores incompressible chunks plain and compresses the rest", () => {
    const random = pseudoRandom(5, 1 << 20);
    const r = encodeChunk(random, 'auto');
    expect(r.codec).toBe(CODEC_NONE);
    expect(r.stored).toBe(random);
    const text = pseudoRandom(6, 1 << 20, true);
    const e = encodeChunk(text, 'auto');
    expect(e.codec).toBe(CODEC_ZSTD);
    expect(e.stored.length).toBeLessThan(text.length * 0.7);
    expect(encodeChunk(new Uint8Array(511), 'zstd').codec).toBe(CODEC_NONE);
  });

  describe('in the worker pool', () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** The stored bytes the pool's workers write for each chunk of a file. */
    async function storedInWorkers(env: string | undefined, file: string): Promise<{ stored: Uint8Array[]; sizes: number[] }> {
      const saved = process.env.MOBR_ZSTD;
      if (env === undefined) delete process.env.MOBR_ZSTD;
      else process.env.MOBR_ZSTD = env; // workers take a copy of the environment when created
      const pool = new WorkerPool(1);
      if (saved === undefined) delete process.env.MOBR_ZSTD;
      else process.env.MOBR_ZSTD = saved;
      try {
        const out = { stored: [] as Uint8Array[], sizes: [] as number[] };
        const p = { min: 65536, avg: 262144, max: 1 << 20 };
        const buf = new SharedArrayBuffer(16 << 20); // the whole file fits: the pack never fills
        const onData = async (d: DataMessage) => {
          d.offsets.forEach((o, i) => out.stored.push(new Uint8Array(buf, o, d.lengths[i]).slice()));
          return undefined;
        };
        await pool.chunkFiles([file], [0], p, 'zstd', (m) => (out.sizes.push(...m.sizes), m.sizes.map(() => true)), onData, { buf, used: 0, cutAt: 16 << 20 });
        return out;
      } finally {
        await pool.close();
      }
    }

    it('workers compress natively by default and with WASM when MOBR_ZSTD=wasm; both decode', async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'mobr-zstd-'));
      const file = path.join(dir, 'f');
      const data = pseudoRandom(8, 3 << 20, true);
      await writeFile(file, data);
      const byDefault = await storedInWorkers(undefined, file);
      const forced = await storedInWorkers('wasm', file);
      expect(byDefault.sizes.length).toBeGreaterThan(3);
      expect(forced.sizes).toEqual(byDefault.sizes);
      let off = 0;
      byDefault.sizes.forEach((size, i) => {
        const plain = data.subarray(off, (off += size));
        expect(Buffer.from(byDefault.stored[i]).equals(Buffer.from(native.compress(plain, 3)))).toBe(true);
        expect(Buffer.from(forced.stored[i]).equals(Buffer.from(wasm.compress(plain, 3)))).toBe(true);
        expect(Buffer.from(decodeChunk(byDefault.stored[i], CODEC_ZSTD, size)).equals(Buffer.from(plain))).toBe(true);
      });
    }, 60_000);
  });
});
