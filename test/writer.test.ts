/**
 * The backup write path: workers write stored chunks into pack buffers the RepoWriter lends
 * (shared memory). Packs come out whole and sound whatever the interleaving of fillers, and the
 * number of buffers a session makes is bounded by its fillers and uploads, not by its size.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { MemStore } from '../src/store/mem.js';
import { RepoWriter } from '../src/repo/writer.js';
import { FastCDC } from '../src/chunk/fastcdc.js';
import { blake3 } from '../src/hash/blake3.js';
import { Repository } from '../src/repo/repository.js';
import { Ingestor } from '../src/backup/ingest.js';
import { verifyBackup } from '../src/backup/verify.js';
import { chunkCount } from '../src/repo/manifest.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';
import type { FileEntry } from '../src/repo/manifest.js';

let pool: WorkerPool;
let work: string;
// 40 files of 100 KiB to 1.2 MiB, incompressible and not: ~26 MiB through 64 KiB packs
const files = Array.from({ length: 40 }, (_, i) => ({ path: `f${String(i).padStart(2, '0')}`, data: pseudoRandom(i + 1, 100_000 + i * 28_000, i % 3 === 0), mode: 0o644 }));
const SMALL = { chunker: { min: 4 * 1024, avg: 16 * 1024, max: 64 * 1024 }, packSize: 64 * 1024 };

beforeAll(async () => {
  pool = new WorkerPool(2);
  work = await tempDir();
  await writeTree(path.join(work, 'src'), files);
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

describe('RepoWriter with pack buffers filled by workers', () => {
  it('four fillers at once on one stream: every file restores sound, buffers stay bounded', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL);
    const ingestor = new Ingestor(repo, pool);
    const out: FileEntry[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < files.length) {
          const f = files[next++];
          const got = await ingestor.ingest(path.join(work, 'src', f.path), f.data.length);
          out.push({ path: f.path, kind: 'file', size: got.size, mode: 0o644, mtimeMs: 0, sha256: got.sha256, chunks: got.chunks });
        }
      }),
    );
    await ingestor.finish();
    const w = ingestor.writer;
    expect(w.stats.packs).toBeGreaterThan(200); // many pack cuts...
    expect(w.buffersMade).toBeLessThanOrEqual(4 + 1); // ...through at most fillers + uploads (PACK_UPLOADS, one) buffers
    expect(out.reduce((s, f) => s + chunkCount(f), 0)).toBeGreaterThanOrEqual(w.stats.newChunks);
    out.sort((a, b) => (a.path < b.path ? -1 : 1));
    const m = { version: 1 as const, id: 'b1', type: 'full' as const, startedAt: 0, completedAt: 0, source: {}, files: out, logicalSize: 0, addedBytes: 0 };
    await repo.saveManifest(m);
    const r = await verifyBackup(await Repository.open(new FsStore(path.join(work, 'repo'))), m, { readData: true, pool });
    expect(r.ok).toBe(true);
    expect(r.files).toBe(files.length);
  }, 60_000);

  it('small files read ahead: a file grown since the walk is read whole, a missing one fails the unit naming it', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo2')), SMALL);
    const ingestor = new Ingestor(repo, pool);
    const dir = path.join(work, 'ahead');
    await fsp.mkdir(dir, { recursive: true });
    const names = Array.from({ length: 40 }, (_, i) => path.join(dir, `s${i}`));
    await Promise.all(names.map((n, i) => fsp.writeFile(n, pseudoRandom(100 + i, 10 + i * 50))));
    const sizes = names.map((_, i) => 10 + i * 50);
    sizes[5] = 3; // grew since the walk saw it: read past the expected size
    sizes[6] = 0;
    const got = await ingestor.ingestMany(names, sizes);
    expect(got.map((f) => f.size)).toEqual(names.map((_, i) => 10 + i * 50));
    await fsp.rm(names[20]);
    await expect(ingestor.ingestMany(names, sizes)).rejects.toThrow(`read ${names[20]}`);
    await ingestor.finish();
  }, 60_000);
});

describe('a pack of small files', () => {
  it('is stored from its own buffer: the header of 16,384 blobs of 1 KiB fits after them (no copy of the pack)', async () => {
    const store = new MemStore();
    const puts: Uint8Array[] = [];
    const put = store.put.bind(store);
    store.put = async (key, data, o) => {
      if (key.startsWith('data/')) puts.push(data);
      return put(key, data, o);
    };
    const repo = await Repository.init(store); // the default 16 MiB packs
    const w = new RepoWriter(repo);
    const slot = w.lease();
    const n = 16_384; // as a filler fills it: up to cutAt, 16 MiB
    const ids = new Uint8Array(32 * n);
    for (let i = 0; i < n; i++) new DataView(ids.buffer).setUint32(32 * i, i + 1);
    const len = 1024;
    const at = Array.from({ length: n }, (_, i) => i * len);
    w.record(slot, { ids, offsets: at, lengths: at.map(() => len), storedHashes: ids, codecs: at.map(() => 0), rawLengths: at.map(() => len) });
    await w.cut(slot);
    w.release(slot);
    await w.flush();
    // (facts, not the 16 MiB arrays: a failure would print them)
    expect(puts.map((b) => b.length > n * len + n * 40)).toEqual([true]); // the blobs, then a header of ~47 bytes a blob
    expect(puts[0].buffer instanceof SharedArrayBuffer, 'a view of the pack buffer, not a copy').toBe(true);
    await repo.close();
  });
});

describe('small files read whole', () => {
  it('are one chunk each, id the BLAKE3 of the bytes, with no chunker run on them (FastCDC.push only for the file past min)', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo-small')), SMALL); // min 4 KiB
    const sizes = [0, 1, 100, 2000, 4095, 10_000];
    const names = sizes.map((_, i) => path.join(work, 'src', `small${i}`));
    const data = sizes.map((n, i) => pseudoRandom(i + 100, n));
    await Promise.all(names.map((f, i) => fsp.writeFile(f, data[i])));
    const inline = new WorkerPool(1, { inline: true }); // the chunker runs in this thread, where the spy sees it
    const push = vi.spyOn(FastCDC.prototype, 'push');
    try {
      const ingestor = new Ingestor(repo, inline);
      const got = await ingestor.ingestMany(names, sizes);
      await ingestor.finish();
      expect(push).toHaveBeenCalledTimes(1); // the 10,000-byte file only
      got.slice(0, 5).forEach((g, i) => expect(Buffer.from(g.chunks).equals(sizes[i] === 0 ? Buffer.alloc(0) : Buffer.from(blake3(data[i]))), `file of ${sizes[i]} bytes`).toBe(true));
      expect(got[5].chunks.length / 32).toBeGreaterThanOrEqual(1);
      for (const g of got) for (let k = 0; k < g.chunks.length; k += 32) expect(repo.location(g.chunks.subarray(k, k + 32))).toBeDefined();
    } finally {
      push.mockRestore();
      await inline.close();
      await repo.close();
    }
  });
});
