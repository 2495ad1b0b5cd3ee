/**
 * BLAKE3: the native binding and the WASM fallback against the official test vectors
 * (BLAKE3-team/BLAKE3, test_vectors/test_vectors.json: input = bytes i % 251, first 32 bytes
 * of the `hash` output), in this thread and in the worker pool, and the fallback when the
 * binary cannot load.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createBlake3, loadNative } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import { DEFAULT_CHUNKER } from '../src/chunk/fastcdc.js';
import { WorkerPool } from '../src/workers/pool.js';

const VECTORS: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
  [4096, '015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [5120, '9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833'],
  [5121, '628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff'],
  [6144, '3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205'],
  [6145, 'f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f'],
  [7168, '61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a'],
  [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817'],
  [8192, 'aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63'],
  [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b'],
  [16384, 'f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4'],
  [31744, '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
];

const input = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('BLAKE3', () => {
  it('the native binding loads on this machine (else every other native check would test the fallback)', async () => {
    expect(loadNative()).toBeDefined();
    expect((await createBlake3({ prefer: 'native' })).backend).toBe('native');
  });

  for (const backend of ['native', 'wasm'] as const) {
    it(`${backend}: the official test vectors, whole and split into parts`, async () => {
      const h = await createBlake3({ prefer: backend });
      expect(h.backend).toBe(backend);
      for (const [n, hex] of VECTORS) {
        const data = input(n);
        expect(toHex(h.hash(data)), `length ${n}`).toBe(hex);
        expect(toHex(h.hash(data.subarray(0, n >> 1), data.subarray(n >> 1))), `length ${n} in two parts`).toBe(hex);
        // a view into a larger buffer hashes only its own bytes
        const padded = new Uint8Array(n + 7).fill(0xee);
        padded.set(data, 3);
        expect(toHex(h.hash(padded.subarray(3, 3 + n)))).toBe(hex);
      }
    });
  }

  it('native and wasm agree on arbitrary inputs and splits', async () => {
    const [n, w] = await Promise.all([createBlake3({ prefer: 'native' }), createBlake3({ prefer: 'wasm' })]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.nat(), (data, cut) => {
        const k = data.length === 0 ? 0 : cut % data.length;
        const a = toHex(n.hash(data));
        expect(toHex(w.hash(data))).toBe(a);
        expect(toHex(n.hash(data.subarray(0, k), data.subarray(k)))).toBe(a);
      }),
      { numRuns: 200 },
    );
  });

  it('falls back to wasm, with the same digests, when the binary cannot load or MOBR_BLAKE3=wasm', async () => {
    const missing = await createBlake3({ load: () => undefined });
    expect(missing.backend).toBe('wasm');
    expect(loadNative('@napi-rs/blake-hash-no-such-platform')).toBeUndefined(); // a failed require is caught
    const unloadable = await createBlake3({ load: () => loadNative('@napi-rs/blake-hash-no-such-platform') });
    expect(unloadable.backend).toBe('wasm');
    // a binary that loads but hashes wrongly is not used either
    const wrong = await createBlake3({ load: () => ({ blake3: () => new Uint8Array(32), Blake3Hasher: class { update() {} digestBuffer() { return new Uint8Array(32); } } }) });
    expect(wrong.backend).toBe('wasm');
    const saved = process.env.MOBR_BLAKE3;
    process.env.MOBR_BLAKE3 = 'wasm';
    try {
      expect((await createBlake3()).backend).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.MOBR_BLAKE3;
      else process.env.MOBR_BLAKE3 = saved;
    }
    for (const [n, hex] of VECTORS) expect(toHex(missing.hash(input(n)))).toBe(hex);
  });

  describe('in the worker pool', () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** Chunk ids of files holding each vector's input (all under the minimum chunk size: one chunk each). */
    async function idsInWorkers(env: string | undefined): Promise<{ backend: string; ids: string[] }> {
      dir ??= await mkdtemp(path.join(tmpdir(), 'mobr-b3-'));
      const saved = process.env.MOBR_BLAKE3;
      if (env === undefined) delete process.env.MOBR_BLAKE3;
      else process.env.MOBR_BLAKE3 = env; // workers take a copy of the environment when created
      const pool = new WorkerPool(2);
      if (saved === undefined) delete process.env.MOBR_BLAKE3;
      else process.env.MOBR_BLAKE3 = saved;
      try {
        const ids: string[] = [];
        for (const [n] of VECTORS) {
          const file = path.join(dir, `v${n}`);
          await writeFile(file, input(n));
          const got: string[] = [];
          await pool.chunkFiles([file], [n], DEFAULT_CHUNKER, 'none', (m) => m.sizes.map((_, i) => (got.push(toHex(m.ids.subarray(i * 32, i * 32 + 32))), false)), async () => undefined);
          ids.push(got.length === 0 ? toHex(new Uint8Array(32)) : got.join(','));
        }
        return { backend: await pool.blake3Backend(), ids };
      } finally {
        await pool.close();
      }
    }

    it('workers hash natively by default, with the wasm fallback when forced, and both give the vectors', async () => {
      const expected = VECTORS.map(([n, hex]) => (n === 0 ? toHex(new Uint8Array(32)) : hex)); // an empty file has no chunks
      const native = await idsInWorkers(undefined);
      expect(native.backend).toBe('native');
      expect(native.ids).toEqual(expected);
      const wasm = await idsInWorkers('wasm');
      expect(wasm.backend).toBe('wasm');
      expect(wasm.ids).toEqual(expected);
    }, 60_000);
  });
});
