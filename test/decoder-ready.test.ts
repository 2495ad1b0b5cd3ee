/**
 * A restore or check readies only the decoding its chunks need (decoderReady, src/chunk/codec.ts):
 * nothing when no chunk is zstd (the WASM build is neither instantiated nor is the native
 * encoder's self-check run), the WASM decoder alone when one is. Module state is per test file.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CODEC_NONE, CODEC_ZSTD, decodeChunk, decoderReady } from '../src/chunk/codec.js';
import { zstdBackend, zstdLoaded } from '../src/chunk/zstd.js';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';

/** A zstd frame of 1000 'a' bytes (made once with the WASM encoder at level 3, as bytes here so nothing loads zstd to make it). */
const FRAME = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0xe8, 0x02, 0x4d, 0x00, 0x00, 0x10, 0x61, 0x61, 0x01, 0x00, 0xe3, 0x2b, 0x80, 0x05]);

describe('decoderReady', () => {
  let work: string;
  afterAll(() => fsp.rm(work, { recursive: true, force: true }));

  it('a restore and a check of chunks stored plain load no zstd in this thread', async () => {
    work = await tempDir();
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `d/f${i}`, data: pseudoRandom(i + 1, 600 + i * 97, i % 2 === 0), mode: 0o644 }));
    await writeTree(path.join(work, 'src'), files);
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), { compression: 'none' });
    const chunking = new WorkerPool(1); // the backup chunks in a worker: this thread stays as a restore finds it
    await backupTree(repo, path.join(work, 'src'), { id: 'b1', pool: chunking });
    await chunking.close();
    const m = await repo.loadManifest('b1');
    const pool = new WorkerPool(1, { inline: true });
    await restoreBackup(repo, m, path.join(work, 'out'), { pool });
    expect((await verifyBackup(repo, m, { readData: true, pool })).ok).toBe(true);
    expect(pool.workersStarted).toBe(false);
    expect(zstdLoaded()).toBe(false);
    const back = await readTree(path.join(work, 'out'));
    for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, f.data), f.path).toBe(0);
    await pool.close();
  }, 30_000);

  it('a zstd chunk gets the decoder alone, and only once it is readied', async () => {
    expect(() => decodeChunk(FRAME, CODEC_ZSTD, 1000)).toThrow(/zstd frame does not decode/);
    await decoderReady([CODEC_NONE, CODEC_NONE]);
    expect(zstdLoaded()).toBe(false);
    await decoderReady([CODEC_NONE, CODEC_ZSTD]);
    expect(zstdLoaded()).toBe(true);
    expect(Buffer.from(decodeChunk(FRAME, CODEC_ZSTD, 1000)).equals(Buffer.alloc(1000, 'a'))).toBe(true);
    expect(() => zstdBackend(), 'no encoder was made').toThrow(/zstdReady\(\) was not awaited/);
  });
});
