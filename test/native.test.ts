/**
 * The three prebuilt N-API bindings on the Node running this test (.ci/run runs this file on
 * Node 20, 22 and 24): BLAKE3 (@napi-rs/blake-hash), zstd (@toondepauw/node-zstd) and CRC-32C
 * (@node-rs/crc32) each load here, and each falls back to WASM with the same results when its
 * binary cannot load, misbehaves, or the environment asks for the fallback. The BLAKE3 and zstd
 * fallbacks are checked in depth by test/blake3.test.ts and test/codec.test.ts; CRC-32C here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlake3 } from '../src/hash/blake3.js';
import { createZstd } from '../src/chunk/zstd.js';
import { crc32c, crc32cBackend } from '../src/mo/framing.js';
import { createCrc32c } from '../src/mo/frame-blocks.js';

describe(`native bindings on Node ${process.version} (N-API ${process.versions.napi})`, () => {
  it('all three load natively on this platform', async () => {
    expect((await createBlake3({ prefer: 'native' })).backend).toBe('native');
    expect((await createZstd({ prefer: 'native' })).backend).toBe('native');
    expect((await createCrc32c({ prefer: 'native' })).backend).toBe('native');
    expect(process.env.MOBR_CRC32C === 'wasm' ? 'wasm' : 'native').toBe(crc32cBackend);
  });

  it('CRC-32C: the check value and the RFC 3720 vectors, native and wasm', async () => {
    const vectors: [Uint8Array, number][] = [
      [Buffer.from('123456789'), 0xe3069283],
      [new Uint8Array(32), 0x8a9136aa], // RFC 3720 B.4: 32 bytes of zeros
      [new Uint8Array(32).fill(0xff), 0x62a8ab43], // 32 bytes of ones
      [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e], // incrementing
      [new Uint8Array(0), 0],
    ];
    for (const prefer of ['native', 'wasm'] as const) {
      const c = await createCrc32c({ prefer });
      expect(c.backend).toBe(prefer);
      for (const [data, want] of vectors) expect(c.crc32c(data), `${prefer}, ${data.length} bytes`).toBe(want);
    }
  });

  it('CRC-32C: native and wasm agree on arbitrary data, also on views into larger buffers', async () => {
    const [n, w] = await Promise.all([createCrc32c({ prefer: 'native' }), createCrc32c({ prefer: 'wasm' })]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10_000 }), fc.nat(50), (data, pad) => {
        const big = new Uint8Array(data.length + 2 * pad).fill(0xa5);
        big.set(data, pad);
        const view = big.subarray(pad, pad + data.length);
        expect(n.crc32c(view)).toBe(w.crc32c(data));
        expect(crc32c(view)).toBe(n.crc32c(data));
      }),
      { numRuns: 200 },
    );
  });

  it('CRC-32C falls back to wasm when the binding cannot load, computes wrong sums, or MOBR_CRC32C=wasm', async () => {
    expect((await createCrc32c({ load: () => undefined })).backend).toBe('wasm');
    const wrong = await createCrc32c({ load: () => ({ crc32c: () => 0 }) });
    expect(wrong.backend).toBe('wasm');
    expect(wrong.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const saved = process.env.MOBR_CRC32C;
    process.env.MOBR_CRC32C = 'wasm';
    try {
      expect((await createCrc32c()).backend).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.MOBR_CRC32C;
      else process.env.MOBR_CRC32C = saved;
    }
  });
});
