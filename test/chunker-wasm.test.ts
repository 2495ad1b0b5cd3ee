/**
 * The WebAssembly gear scan (src/chunk/gear-wasm.ts) against the JavaScript one: the same cut
 * points for any input, parameters and read sizes, and the JavaScript fallback when WASM cannot
 * be built or MOBR_CHUNKER=js (also inside the worker pool).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FastCDC, type ChunkerParams } from '../src/chunk/fastcdc.js';
import { createScanner, jsScanner, type GearScanner } from '../src/chunk/scanner.js';
import { createWasmScanner } from '../src/chunk/gear-wasm.js';
import { buildModule, sleb, uleb } from '../src/chunk/wasm-module.js';
import { WorkerPool } from '../src/workers/pool.js';
import { toHex } from '../src/hash/hex.js';
import { pseudoRandom } from './helpers/tree.js';

const wasm = createWasmScanner();

function cutEnds(data: Uint8Array, p: ChunkerParams, blocks: number[], scanner: GearScanner): number[] {
  const cdc = new FastCDC(p, scanner);
  const ends: number[] = [];
  let end = 0;
  const take = (cs: Uint8Array[]) => cs.forEach((c) => ends.push((end += c.length)));
  for (let off = 0, k = 0; off < data.length; k++) {
    const n = Math.max(1, blocks[k % blocks.length]);
    take(cdc.push(data.slice(off, off + n)));
    off += n;
  }
  take(cdc.finish());
  return ends;
}

/** Inputs that exercise the scan: random, low-entropy, and with long zero runs (no cut there). */
const dataArb = (max: number) =>
  fc.record({ seed: fc.integer(), size: fc.integer({ min: 0, max }), kind: fc.constantFrom('random', 'nibbles', 'zero runs') }).map(({ seed, size, kind }) => {
    const d = pseudoRandom(seed, size, kind === 'nibbles');
    if (kind === 'zero runs') for (let i = 0; i < size; i += 200_000) d.fill(0, i, i + 100_000);
    return d;
  });

/** avg from 128 B to 256 KiB, so some scans span many of the WASM module's 64 KiB pieces. */
const paramsArb = fc.integer({ min: 7, max: 18 }).chain((bits) => {
  const avg = 2 ** bits;
  return fc.record({ min: fc.integer({ min: 64, max: avg }), avg: fc.constant(avg), max: fc.integer({ min: avg, max: Math.min(avg * 8, 1 << 20) }) });
});

describe('FastCDC in WebAssembly', () => {
  it('the module is built and self-checked in this environment', () => {
    expect(createScanner({ prefer: 'wasm' }).backend).toBe('wasm');
  });

  it('the scan returns the same cut and final hash as the JavaScript one', () => {
    fc.assert(
      fc.property(dataArb(300_000), fc.nat(), fc.nat(), fc.integer(), fc.integer({ min: 1, max: 32 }), (data, a, b, h, bits) => {
        const i = data.length === 0 ? 0 : a % data.length;
        const end = i + (data.length === i ? 0 : b % (data.length - i + 1));
        const mask = (~0 << (32 - bits)) | 0;
        const want = jsScanner.scan(data, i, end, h, mask);
        expect(wasm.scan(data, i, end, h, mask)).toBe(want);
        if (want < 0) expect(wasm.state()).toBe(jsScanner.state());
      }),
      { numRuns: 300 },
    );
  });

  it('cuts exactly where the JavaScript chunker cuts, whatever the parameters and read sizes', () => {
    fc.assert(
      fc.property(paramsArb, dataArb(1_500_000), fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 4 }), (p, data, blocks) => {
        const want = cutEnds(data, p, [1 << 30], jsScanner);
        expect(cutEnds(data, p, blocks, wasm)).toEqual(want);
        expect(cutEnds(data, p, blocks, jsScanner)).toEqual(want);
      }),
      { numRuns: 80 },
    );
  }, 60_000);

  it('falls back to JavaScript when WASM cannot be built, disagrees, or MOBR_CHUNKER=js', () => {
    expect(createScanner({ load: () => { throw new Error('no WebAssembly'); } }).backend).toBe('js');
    const wrong: GearScanner = { backend: 'wasm', scan: () => -1, state: () => 0 };
    expect(createScanner({ load: () => wrong }).backend).toBe('js');
    expect(createScanner({ prefer: 'js' }).backend).toBe('js');
    const saved = process.env.MOBR_CHUNKER;
    process.env.MOBR_CHUNKER = 'js';
    try {
      expect(createScanner().backend).toBe('js');
    } finally {
      if (saved === undefined) delete process.env.MOBR_CHUNKER;
      else process.env.MOBR_CHUNKER = saved;
    }
    // the fallback chunks alike (golden cut points: test/golden-formats.test.ts)
    const data = pseudoRandom(5, 3 << 20);
    const p = { min: 65536, avg: 262144, max: 1 << 20 };
    expect(cutEnds(data, p, [1 << 20], createScanner({ load: () => wrong }))).toEqual(cutEnds(data, p, [1 << 20], wasm));
  });

  it('LEB128 encodings follow the WebAssembly spec', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(WebAssembly.validate(buildModule(1, []))).toBe(true);
  });

  describe('in the worker pool', () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    async function chunkIds(env: string | undefined, file: string): Promise<string[]> {
      const saved = process.env.MOBR_CHUNKER;
      if (env === undefined) delete process.env.MOBR_CHUNKER;
      else process.env.MOBR_CHUNKER = env; // workers take a copy of the environment when created
      const pool = new WorkerPool(1);
      if (saved === undefined) delete process.env.MOBR_CHUNKER;
      else process.env.MOBR_CHUNKER = saved;
      try {
        const got: string[] = [];
        const p = { min: 16384, avg: 65536, max: 262144 };
        await pool.chunkFiles([file], [0], p, 'none', (m) => m.sizes.map((s, i) => (got.push(`${s}:${toHex(m.ids.subarray(i * 32, i * 32 + 32))}`), false)), async () => undefined);
        return got;
      } finally {
        await pool.close();
      }
    }

    it('workers chunk a file identically with WASM and with MOBR_CHUNKER=js', async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'mobr-cdc-'));
      const file = path.join(dir, 'f');
      const data = pseudoRandom(11, 5 << 20);
      await writeFile(file, data);
      const byDefault = await chunkIds(undefined, file);
      expect(byDefault.length).toBeGreaterThan(40);
      expect(await chunkIds('js', file)).toEqual(byDefault);
      expect(byDefault.map((s) => Number(s.split(':')[0]))).toEqual(cutEnds(data, { min: 16384, avg: 65536, max: 262144 }, [1 << 20], jsScanner).map((e, i, a) => e - (a[i - 1] ?? 0)));
    }, 60_000);
  });
});
