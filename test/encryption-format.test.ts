/**
 * Golden vectors and the formats of an encrypted repository (spec/encryption.md §2–§5, §11),
 * checked against a second implementation written from the spec here (hash-wasm's keyed BLAKE3
 * and node:crypto's AES-256-GCM), in both directions.
 */
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { decode } from '@msgpack/msgpack';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Crypt, blobAad, HEADER_AAD } from '../src/crypto/crypt.js';
import { gearFromSeed, GEAR } from '../src/chunk/gear.js';
import { createScanner } from '../src/chunk/scanner.js';
import { FastCDC } from '../src/chunk/fastcdc.js';
import { blake3, blake3Ready, keyedBlake3 } from '../src/hash/blake3.js';
import { codecReady } from '../src/chunk/codec.js';
import { seal, unseal } from '../src/repo/sealed.js';
import { PackBuilder, checkPack } from '../src/repo/pack.js';
import type { MasterKey } from '../src/crypto/master.js';
import { xorshiftBytes as prng } from './helpers/xorshift.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const TEST_KEY: MasterKey = { id: '00112233445566778899aabbccddeeff', data: new Uint8Array(32).fill(1), ids: new Uint8Array(32).fill(2), chunker: new Uint8Array(32).fill(3) };

await blake3Ready();
await codecReady();
const crypt = await Crypt.create(TEST_KEY);

/** The spec's box, opened by a second implementation (§2). */
async function openBox(data: Uint8Array, aad: Uint8Array, box: Uint8Array): Promise<Buffer> {
  const kdf = await createBLAKE3(256, data);
  kdf.init();
  kdf.update(Buffer.from('mobr-aead-v1', 'ascii'));
  kdf.update(box.subarray(0, 12));
  const d = createDecipheriv('aes-256-gcm', kdf.digest('binary'), box.subarray(12, 24), { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(box.subarray(box.length - 16));
  return Buffer.concat([d.update(box.subarray(24, box.length - 16)), d.final()]);
}

describe('golden vectors, encrypted repository format v1', () => {
  it('§2 a box, with a fixed nonce, is these bytes; the spec opens it', async () => {
    const nonce = Uint8Array.from({ length: 24 }, (_, i) => i);
    const aad = blobAad(new Uint8Array(32).fill(0xab));
    const box = crypt.seal(aad, Buffer.from('mobr'), nonce);
    expect(hex(box)).toBe('000102030405060708090a0b0c0d0e0f1011121314151617019c3546a4d0bca90bc33e8f33d9593aa8ae4b62');
    expect((await openBox(TEST_KEY.data, aad, box)).toString()).toBe('mobr');
    expect(Buffer.from(crypt.open(aad, box)).toString()).toBe('mobr');
    // random nonces: two boxes of the same bytes differ, and each opens
    const [a, b] = [crypt.seal(aad, Buffer.from('mobr')), crypt.seal(aad, Buffer.from('mobr'))];
    expect(hex(a)).not.toBe(hex(b));
    expect((await openBox(TEST_KEY.data, aad, b)).toString()).toBe('mobr');
  });

  it('§2 a box of any size, sealed into a pack buffer piece by piece, is the one GCM box the spec opens, and only its range is written', async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 65_530, max: 65_542 }), fc.integer({ min: 0, max: 300_000 }));
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2 ** 31 }), async (size, at, seed) => {
        const plain = prng(seed, size);
        const aad = blobAad(new Uint8Array(32).fill(seed & 0xff));
        const out = new Uint8Array(at + size + 40 + 7).fill(0x5a);
        expect(crypt.sealInto(out, at, aad, plain)).toBe(size + 40);
        const box = out.subarray(at, at + size + 40);
        expect((await openBox(TEST_KEY.data, aad, box)).equals(plain)).toBe(true);
        expect(Buffer.from(crypt.open(aad, box)).equals(plain)).toBe(true);
        expect([...out.subarray(0, at), ...out.subarray(at + size + 40)].every((b) => b === 0x5a)).toBe(true);
      }),
      { numRuns: 40 },
    );
    // pinned: a 200,000-byte box (four pieces and a bit) with a fixed nonce
    const big = crypt.seal(blobAad(new Uint8Array(32)), prng(23, 200_000), Uint8Array.from({ length: 24 }, (_, i) => 100 + i));
    expect(createHash('sha256').update(big).digest('hex')).toBe('4e018cc27f8c21d8652f2218bf849eca15eae2205812ee376c1f63718af485be');
  });

  it('§4 keyed chunk ids: the official keyed vector on both backends, and the pinned id', async () => {
    const elvish = Buffer.from('whats the Elvish word for friend');
    for (const backend of ['native', 'wasm'] as const) {
      expect(hex((await keyedBlake3(elvish, backend)).hash(new Uint8Array(0)))).toBe('92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26');
      expect(hex((await keyedBlake3(TEST_KEY.ids, backend)).hash(Buffer.from('hello')))).toBe('b6070455a7a7ca5d9886346f0a51511530d31f0fb811350140afcc82a48c2f87');
    }
    expect(hex(crypt.chunkId(Buffer.from('hello')))).toBe('b6070455a7a7ca5d9886346f0a51511530d31f0fb811350140afcc82a48c2f87');
    expect(hex(crypt.chunkId(Buffer.from('hello')))).not.toBe(hex(blake3(Buffer.from('hello'))));
  });

  it('§5 the secret gear table: HMAC-SHA256 of the seed, pinned; both scanners cut alike with it', () => {
    const g = gearFromSeed(TEST_KEY.chunker);
    const bytes = Buffer.alloc(1024);
    g.forEach((v, i) => bytes.writeInt32LE(v, i * 4));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('5d9ea5a7d9c9d66a8b2d25eeaa861e81dd088d676ce814ded0daa64bfbf977fe');
    expect(g[7]).toBe(createHmac('sha256', TEST_KEY.chunker).update('mobr-gear-v1:7').digest().readInt32LE(0));
    expect(crypt.gear).toEqual(g);
    const data = Buffer.from(prng(11, 1 << 20));
    const p = { min: 2048, avg: 8192, max: 65536 };
    const cut = (s: ReturnType<typeof createScanner>) => {
      const cdc = new FastCDC(p, s);
      const out = [...cdc.push(data), ...cdc.finish()].map((c) => c.length);
      return out;
    };
    const wasm = cut(createScanner({ gear: g, prefer: 'wasm' }));
    expect(createScanner({ gear: g, prefer: 'wasm' }).backend).toBe('wasm');
    expect(cut(createScanner({ gear: g, prefer: 'js' }))).toEqual(wasm);
    expect(cut(createScanner({ gear: GEAR, prefer: 'js' }))).not.toEqual(wasm); // the table is used
  });

  it('§3.3 a sealed object: magic, kind, version, key set, and a box bound to its name', async () => {
    const body = { id: 'b1', n: 7 };
    const bytes = seal('M', 1, body, { crypt, name: 'backups/b1' });
    expect(Buffer.from(bytes.subarray(0, 6)).toString('latin1')).toBe('MOBSM\x01');
    expect(hex(bytes.subarray(6, 22))).toBe(TEST_KEY.id);
    const aad = Buffer.concat([bytes.subarray(0, 22), Buffer.from('backups/b1')]);
    expect(decode(await openBox(TEST_KEY.data, aad, bytes.subarray(22)))).toEqual(body);
    expect(unseal('M', 1, bytes, 'm', { crypt, name: 'backups/b1' }).body).toEqual(body);
    expect(() => unseal('M', 1, bytes, 'manifest of backup b2', { crypt, name: 'backups/b2' })).toThrow(/manifest of backup b2: authentication failed/);
    expect(() => unseal('M', 1, bytes, 'm')).toThrow(/an encrypted object in a plain repository/);
    expect(() => unseal('M', 1, seal('M', 1, body), 'm', { crypt, name: 'backups/b1' })).toThrow(/a plain object in an encrypted repository/);
  });

  it('§3.2 a sealed pack: boxes bound to ids, a sealed header, named by the hash of every byte', async () => {
    const b = new PackBuilder(4096, crypt);
    const chunks = [Buffer.from('first chunk'), Buffer.from('second chunk')];
    for (const c of chunks) {
      const id = crypt.chunkId(c);
      b.add(id, crypt.seal(blobAad(id), c), c.length, 0);
    }
    const { id, bytes, blobs } = b.build();
    expect(id).toBe(hex(blake3(bytes)));
    expect(Buffer.from(bytes.subarray(bytes.length - 8)).toString()).toBe('MOBRPS01');
    const hlen = Buffer.from(bytes).readUInt32LE(bytes.length - 12);
    const header = decode(await openBox(TEST_KEY.data, HEADER_AAD, bytes.subarray(bytes.length - 12 - hlen, bytes.length - 12))) as { v: number; blobs: unknown[][] };
    expect(header.v).toBe(1);
    expect(header.blobs.map((r) => r.slice(1))).toEqual(blobs.map((x) => [x.offset, x.length, x.rawLength, x.codec]));
    for (const [i, x] of blobs.entries()) {
      expect((await openBox(TEST_KEY.data, blobAad(x.id), bytes.subarray(x.offset, x.offset + x.length))).equals(chunks[i])).toBe(true);
    }
    expect(checkPack(bytes, id, 'p', crypt).dataOk).toBe(true);
    expect(() => checkPack(bytes, id, 'p')).toThrow(/an encrypted pack in a plain repository/);
  });
});
