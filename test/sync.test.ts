/**
 * sync: a 30-backup repository to S3 (s3rver) moves about its unique bytes once; a second sync
 * moves nearly nothing; an interrupted sync resumes without re-sending finished packs; S3 -> S3
 * and S3 -> filesystem; a destination with another config is refused.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { Repository } from '../src/repo/repository.js';
import { syncRepository } from '../src/repo/sync.js';
import { repoStats } from '../src/repo/stats.js';
import { FsStore } from '../src/store/fs.js';
import { MemStore } from '../src/store/mem.js';
import { S3Store } from '../src/store/s3.js';
import type { PutOptions, Store, StoreEntry } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { CountingStore } from './helpers/counting-store.js';
import { pseudoRandom, readTree, tempDir, writeTree, type TreeFile } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
let pool: WorkerPool;
let server: S3Server;
let src: Repository;
const trees = new Map<string, TreeFile[]>();

const Counting = CountingStore;

function s3(prefix = `t/${randomBytes(4).toString('hex')}`): S3Store {
  return new S3Store({ endpoint: server.endpoint, bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, prefix, retry: { tries: 5, baseDelayMs: 5, maxDelayMs: 40 } });
}

async function expectAllRestore(repo: Repository, ids: string[]): Promise<void> {
  const fresh = await Repository.open(repo.store);
  for (const id of ids) {
    const dir = await tempDir();
    await restoreBackup(fresh, await fresh.loadManifest(id), dir, { pool });
    const got = await readTree(dir);
    const want = trees.get(id)!;
    expect(got.size).toBe(want.length);
    for (const f of want) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data))).toBe(0);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  pool = new WorkerPool(2);
  server = await startS3Server();
  src = await Repository.init(new MemStore(), OPTS);
  // 30 backups of a changing tree: 8 files of 40 KB; each backup rewrites one file and adds one.
  let files: TreeFile[] = Array.from({ length: 8 }, (_, i) => ({ path: `db/f${i}`, data: pseudoRandom(i + 1, 40_000), mode: 0o644 }));
  const dir = await tempDir();
  for (let b = 0; b < 30; b++) {
    files = files.map((f, i) => (i === b % 8 ? { ...f, data: pseudoRandom(1000 + b, 40_000) } : f));
    files.push({ path: `log/l${b}`, data: pseudoRandom(5000 + b, 10_000), mode: 0o600 });
    await fsp.rm(dir, { recursive: true, force: true });
    await writeTree(dir, files);
    const id = `b${String(b).padStart(2, '0')}`;
    await backupTree(src, dir, { id, pool });
    trees.set(id, files.map((f) => ({ ...f })));
  }
  await fsp.rm(dir, { recursive: true, force: true });
}, 120_000);
afterAll(async () => {
  await pool?.close();
  await server?.stop();
});

describe('sync', () => {
  it('moves the unique bytes once, then nearly nothing; the copy restores', async () => {
    const stats = await repoStats(src);
    const dst = new Counting(s3());
    const seen: { packsDone: number; packsTotal: number; bytesSent: number; packPuts: number }[] = [];
    const r1 = await syncRepository(src, dst, { pool, onProgress: (p) => seen.push({ ...p, packPuts: dst.packPuts.length }) });
    expect(r1.copied).toHaveLength(30);
    // the first report comes before any pack is sent (0 of the total): a terminal shows the line at once, rate and ETA count from the start
    expect(seen[0]).toMatchObject({ packsDone: 0, bytesSent: 0, packPuts: 0 });
    expect(seen[0]!.packsTotal).toBe(seen.at(-1)!.packsDone);
    // unique bytes once: within 10% (index objects, manifests, config and lock objects on top)
    expect(dst.bytes).toBeGreaterThanOrEqual(stats.liveBytes);
    expect(dst.bytes).toBeLessThan(stats.packBytes * 1.1 + 200_000);
    const first = { puts: dst.puts, bytes: dst.bytes };
    const r2 = await syncRepository(src, dst, { pool });
    expect(r2.copied).toHaveLength(0);
    expect(r2.present).toHaveLength(30);
    expect(dst.puts - first.puts).toBeLessThanOrEqual(2); // the lock object only
    expect(dst.bytes - first.bytes).toBeLessThan(1000);
    await expectAllRestore(await Repository.open(dst.inner), ['b00', 'b17', 'b29']);
  });

  it('an interrupted sync resumes without re-sending finished packs', async () => {
    const dst = new Counting(s3());
    const ac = new AbortController();
    await expect(syncRepository(src, dst, { pool, signal: ac.signal, onProgress: (p) => p.packsDone >= 10 && ac.abort() })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    const before = new Set(dst.packPuts);
    expect(before.size).toBeGreaterThanOrEqual(10);
    for (const k of before) expect(await dst.inner.has(k), k).toBe(true); // the finished packs are really there
    expect(await (await Repository.open(dst.inner)).listBackupIds()).toEqual([]); // manifests last
    dst.packPuts = [];
    const r = await syncRepository(src, dst, { pool });
    expect(r.copied).toHaveLength(30);
    expect(dst.packPuts.filter((k) => before.has(k))).toEqual([]);
    await expectAllRestore(await Repository.open(dst.inner), ['b05', 'b29']);
  });

  it('syncs a subset, then S3 -> S3 and S3 -> filesystem, deduplicating against what is there', async () => {
    const a = new Counting(s3());
    await syncRepository(src, a, { pool, ids: ['b00', 'b01'] });
    expect(await (await Repository.open(a)).listBackupIds()).toEqual(['b00', 'b01']);
    const before = a.bytes;
    await syncRepository(src, a, { pool, ids: ['b02'] });
    expect(a.bytes - before).toBeLessThan(120_000); // b02's new chunks, not the whole tree
    const aRepo = await Repository.open(a.inner);
    const b = s3();
    await syncRepository(aRepo, b, { pool });
    const dir = await tempDir();
    const fs = new FsStore(dir);
    await syncRepository(await Repository.open(b), fs, { pool });
    await expectAllRestore(await Repository.open(fs), ['b00', 'b01', 'b02']);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('refuses a destination with another chunker config, and a non-empty non-repository', async () => {
    const other = new MemStore();
    await Repository.init(other, { chunker: { min: 2048, avg: 8192, max: 32768 } });
    await expect(syncRepository(src, other, { pool })).rejects.toThrow(/different config/);
    const junk = new MemStore();
    await junk.put('hello', new Uint8Array(3));
    await expect(syncRepository(src, junk, { pool })).rejects.toThrow(/not empty/);
  });
});
