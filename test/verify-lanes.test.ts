/**
 * Check with data reads each pack into a reused shared slot (issue #22: a fresh buffer a pack
 * cost more CPU in page faults than the read itself), and a file spread over packs whose later
 * packs come back first still checks sound: those chunks are copied out before their slot is
 * read into again. And check compares every file's bytes with its recorded SHA-256, whichever way
 * the file is checked: one chunk (one hash call), several chunks in one pack task (hashed in the
 * worker as they are decoded), or spread over packs (hashed here in order). A recorded SHA-256
 * that differs is reported for that file alone; a file sharing its chunks with one reported stays
 * sound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { StoreDecorator } from '../src/store/decorator.js';
import type { GetOptions } from '../src/store/store.js';
import { fileTable } from '../src/repo/manifest.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { READ_AHEAD } from '../src/util/concurrency.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
// incompressible: stored as is, so the chunks a task hands back are views of the pack's bytes
const several = pseudoRandom(5, 12_000, true);
const files = [
  ...Array.from({ length: 4 }, (_, i) => ({ path: `f${i}`, data: pseudoRandom(i + 11, 300_000 + i * 5000), mode: 0o644 })),
  { path: 'one', data: pseudoRandom(3, 600), mode: 0o644 },
  { path: 'several', data: several, mode: 0o644 },
  { path: 'spread', data: pseudoRandom(7, 200_000), mode: 0o644 },
  { path: 'twin', data: several, mode: 0o644 },
];

/**
 * Holds the first pack read back until `others` later pack reads have returned (so the first
 * file's later chunks arrive early and lanes are read into again), and records every pack read's
 * buffer.
 */
class FirstPackLast extends StoreDecorator {
  readonly buffers: ArrayBufferLike[] = [];
  private first = true;
  private done = 0;
  private release?: () => void;

  constructor(
    inner: FsStore,
    private readonly others: number,
  ) {
    super(inner);
  }

  override async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    if (!key.startsWith('data/')) return super.get(key, o);
    if (this.first) {
      this.first = false;
      await new Promise<void>((r) => (this.release = r));
    }
    const b = await super.get(key, o);
    this.buffers.push(b.buffer);
    if (++this.done >= this.others) this.release?.();
    return b;
  }
}

let work: string;
let packs: number;

beforeAll(async () => {
  work = await tempDir();
  await writeTree(path.join(work, 'src'), files);
  const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL);
  await backupTree(repo, path.join(work, 'src'), { id: 'b1' });
  await repo.close();
  packs = (await fsp.readdir(path.join(work, 'repo', 'data'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

describe('check reads packs into reused slots', () => {
  it('FsStore.get reads into the buffer `into` gives, and returns that view', async () => {
    const store = new FsStore(path.join(work, 'repo'));
    const key = 'backups/b1';
    const plain = await store.get(key);
    const mine = new Uint8Array(new SharedArrayBuffer(plain.length + 100));
    const got = await store.get(key, { into: (size) => mine.subarray(0, size) });
    expect(got.buffer).toBe(mine.buffer);
    expect(Buffer.compare(got, plain)).toBe(0);
    const own = await store.get(key, { into: () => undefined });
    expect(own.buffer).not.toBe(mine.buffer);
    expect(Buffer.compare(own, plain)).toBe(0);
  });

  it.each([
    ['worker threads', false],
    ['this thread', true],
  ])('in %s: every file sound with later packs first, and few distinct pack buffers', async (_, inline) => {
    const pool = new WorkerPool(2, { inline });
    const lanes = pool.threads + READ_AHEAD;
    expect(packs, 'files spread over many packs').toBeGreaterThan(6 * lanes);
    const store = new FirstPackLast(new FsStore(path.join(work, 'repo')), 3 * lanes);
    const repo = await Repository.open(store);
    try {
      const r = await verifyBackup(repo, await repo.loadManifest('b1'), { readData: true, pool });
      expect(r.damaged).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.files).toBe(files.length);
      expect(r.packReads).toBe(packs);
      expect(store.buffers.length).toBe(packs);
      // one slot a read in flight, not one a pack
      expect(store.buffers.every((b) => b instanceof SharedArrayBuffer)).toBe(true);
      expect(new Set(store.buffers).size).toBeLessThanOrEqual(lanes);
    } finally {
      await pool.close();
      await repo.close();
    }
  });
});

it.each([
  ['worker threads', false],
  ['this thread', true],
])('in %s: a recorded SHA-256 that differs is a damaged file, each way a file is checked', async (_, inline) => {
  const pool = new WorkerPool(2, { inline });
  const repo = await Repository.open(new FsStore(path.join(work, 'repo')));
  try {
    const m = await repo.loadManifest('b1');
    const t = fileTable(m);
    const row = (p: string) => Array.from({ length: t.length }, (_, k) => k).find((k) => t.path(k) === p)!;
    const packsOf = (p: string) => new Set(Array.from({ length: t.chunkCount(row(p)) }, (_, i) => repo.location(t.chunkId(row(p), i))!.pack)).size;
    expect(t.chunkCount(row('one'))).toBe(1);
    expect(t.chunkCount(row('several'))).toBeGreaterThan(1);
    expect(packsOf('several')).toBe(1);
    expect(packsOf('spread')).toBeGreaterThan(2);
    const sound = await verifyBackup(repo, m, { readData: true, pool });
    expect(sound.damaged).toEqual([]);
    for (const p of ['one', 'several', 'spread']) t.sha256(row(p))![7] ^= 1; // the record, in memory only
    const r = await verifyBackup(repo, m, { readData: true, pool });
    expect(r.damaged.sort((a, b) => a.path.localeCompare(b.path))).toEqual(['one', 'several', 'spread'].map((p) => ({ path: p, problem: 'sha256 mismatch' })));
    expect(r.damagedPacks).toEqual([]);
  } finally {
    await pool.close();
    await repo.close();
  }
});
