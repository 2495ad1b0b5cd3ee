/**
 * Check with data compares every file's bytes with its recorded SHA-256, whichever way the file
 * is checked: one chunk (one hash call), several chunks in one pack task (hashed in the worker as
 * they are decoded), or spread over packs (hashed here in order). A recorded SHA-256 that differs
 * is reported for that file alone; a file sharing its chunks with one reported stays sound.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { fileTable } from '../src/repo/manifest.js';
import { backupTree } from '../src/backup/backup.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
const several = pseudoRandom(5, 12_000, true);
const files = [
  { path: 'one', data: pseudoRandom(3, 600), mode: 0o644 },
  { path: 'several', data: several, mode: 0o644 },
  { path: 'spread', data: pseudoRandom(7, 200_000), mode: 0o644 },
  { path: 'twin', data: several, mode: 0o644 },
];

let work: string;
beforeAll(async () => {
  work = await tempDir();
  await writeTree(path.join(work, 'src'), files);
  const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL);
  await backupTree(repo, path.join(work, 'src'), { id: 'b1' });
  await repo.close();
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
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
