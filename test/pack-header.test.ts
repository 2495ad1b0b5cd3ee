/**
 * A plain pack's header always carries `h`, the hash of its blob bytes (spec/repository.md §5;
 * issue #21.4: the branch that accepted headers without one, for packs of pre-release writers, is
 * gone). The frozen fixture shows that every released repository has it; a pack without it is
 * malformed, and a pack file's size must be exactly the one its index record gives: 36 bytes
 * short (the old "without h" size) is damage, in a plain and in an encrypted repository.
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { blake3, blake3Ready } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import type { MasterKey } from '../src/crypto/master.js';
import { packKey } from '../src/repo/keys.js';
import { checkPack, encodePackHeader, PACK_MAGIC, PackBuilder, parseTrailer, TRAILER } from '../src/repo/pack.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { tempDir } from './helpers/tree.js';

const FIXTURE_DATA = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'repo-v1', 'repo', 'data');
const KEY: MasterKey = { id: '00112233445566778899aabbccddeeff', data: new Uint8Array(32).fill(1), ids: new Uint8Array(32).fill(2), chunker: new Uint8Array(32).fill(3) };
const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 64 * 1024 };

describe('pack header: h is part of every plain pack', () => {
  it('every pack of the frozen v1 fixture carries a 32-byte h that matches its blobs', async () => {
    await blake3Ready();
    const packs = readdirSync(FIXTURE_DATA, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(packs.length).toBe(4);
    for (const e of packs) {
      const bytes = readFileSync(path.join(e.parentPath, e.name));
      const hlen = parseTrailer(bytes.subarray(bytes.length - TRAILER), e.name, false);
      const header = decode(bytes.subarray(bytes.length - TRAILER - hlen, bytes.length - TRAILER)) as { h?: Uint8Array };
      expect(header.h, e.name).toBeInstanceOf(Uint8Array);
      expect(header.h!.length).toBe(32);
      expect(checkPack(bytes, e.name, e.name).dataOk).toBe(true);
    }
  });

  it('a plain pack whose header has no h is refused as malformed, though its name matches', async () => {
    await blake3Ready();
    const blob = new Uint8Array([1, 2, 3, 4, 5]);
    const blobs = [{ id: blake3(blob), offset: 0, length: blob.length, rawLength: blob.length, codec: 0 }];
    for (const [h, ok] of [[blake3(blake3(blob)), true], [undefined, false]] as const) {
      const header = encodePackHeader(blobs, h);
      const bytes = new Uint8Array(blob.length + header.length + TRAILER);
      bytes.set(blob);
      bytes.set(header, blob.length);
      new DataView(bytes.buffer).setUint32(blob.length + header.length, header.length, true);
      bytes.set(PACK_MAGIC, blob.length + header.length + 4);
      const check = () => checkPack(bytes, toHex(blake3(header)), 'pack p');
      if (ok) expect(check().dataOk).toBe(true);
      else expect(check).toThrow(expect.objectContaining({ code: 'CORRUPT_PACK', message: 'pack p: header malformed (no 32-byte h)' }));
    }
  });

  it.each([['plain', undefined], ['encrypted', KEY]] as const)('%s repository: a pack file 36 bytes short is found unsound by its size', async (_, masterKey) => {
    await blake3Ready();
    const store = new FsStore(await tempDir());
    const repo = await Repository.init(store, SMALL, masterKey ? { masterKey } : undefined);
    const b = new PackBuilder(1024, repo.crypt); // blob bytes are never opened here: only sizes count
    for (let i = 0; i < 3; i++) b.add(blake3(new Uint8Array([i])), new Uint8Array(100 + i).fill(i), 100 + i, 0);
    const pack = b.build();
    await store.put(packKey(pack.id), pack.bytes);
    await repo.writeIndex([{ id: pack.id, blobs: pack.blobs }]);
    const open = () => Repository.open(store, masterKey ? { masterKey: async () => masterKey } : undefined);
    expect(await (await open()).dropUnsoundPacks()).toEqual([]);
    const size = pack.bytes.length;
    await store.put(packKey(pack.id), pack.bytes.subarray(0, size - 36));
    expect(await (await open()).dropUnsoundPacks()).toEqual([{ pack: pack.id, problem: `${size - 36} bytes, its index record says ${size}` }]);
  });
});
