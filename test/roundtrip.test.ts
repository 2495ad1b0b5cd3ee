import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { MemStore } from '../src/store/mem.js';
import type { Store } from '../src/store/store.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, readTree, tempDir, treeArb, writeTree } from './helpers/tree.js';

const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 64 * 1024 };

let pool: WorkerPool;
beforeAll(() => {
  pool = new WorkerPool(2);
});
afterAll(async () => {
  await pool.close();
});

async function storeSize(store: Store): Promise<number> {
  let n = 0;
  for await (const e of store.list('')) n += e.size;
  return n;
}

async function expectSameTree(a: string, b: string): Promise<void> {
  const ta = await readTree(a);
  const tb = await readTree(b);
  expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
  for (const [k, v] of ta) {
    expect(tb.get(k)!.data.equals(v.data), k).toBe(true);
    expect(tb.get(k)!.mode, k).toBe(v.mode);
  }
}

describe('backup -> restore round trip', () => {
  it('restore(backup(tree)) equals tree for random trees (filesystem store)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(treeArb(12, 60_000), fc.constantFrom<'auto' | 'none' | 'zstd'>('auto', 'none', 'zstd'), async (files, compression) => {
        const work = await tempDir();
        try {
          const src = path.join(work, 'src');
          await fsp.mkdir(src);
          await writeTree(src, files);
          const repo = await Repository.init(new FsStore(path.join(work, 'repo')), { ...SMALL, compression });
          const id = `b${n++}`;
          const m = await backupTree(repo, src, { id, pool });
          const repo2 = await Repository.open(new FsStore(path.join(work, 'repo')));
          const m2 = await repo2.loadManifest(id);
          expect(m2.files.length).toBe(m.files.length);
          const out = path.join(work, 'out');
          await restoreBackup(repo2, m2, out, { pool });
          await expectSameTree(src, out);
          expect((await verifyBackup(repo2, m2, { readData: true, pool })).ok).toBe(true);
        } finally {
          await fsp.rm(work, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('round-trips files of many MiB with the default chunker', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      await writeTree(src, [
        { path: 'big/random.bin', data: pseudoRandom(1, 24 * 1024 * 1024), mode: 0o644 },
        { path: 'big/compressible.bin', data: pseudoRandom(2, 9 * 1024 * 1024, true), mode: 0o600 },
        { path: 'empty', data: new Uint8Array(0), mode: 0o644 },
        { path: 'd/e/e/p/ünïcödé/数据/x', data: new Uint8Array([1, 2, 3]), mode: 0o755 },
      ]);
      const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
      const m = await backupTree(repo, src, { id: 'big', pool });
      expect(m.logicalSize).toBe(33 * 1024 * 1024 + 3);
      await restoreBackup(repo, m, path.join(work, 'out'), { pool });
      await expectSameTree(src, path.join(work, 'out'));
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  });
});

describe('unchanged-file detection', () => {
  it('a file rewritten with the same size and its mtime put back is read again (ctime/inode differ)', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      await writeTree(src, [{ path: 'obj', data: pseudoRandom(1, 50_000), mode: 0o644 }, { path: 'same', data: pseudoRandom(2, 50_000), mode: 0o644 }]);
      const repo = await Repository.init(new MemStore(), SMALL);
      const first = await backupTree(repo, src, { id: 'one', pool });
      const before = await fsp.stat(path.join(src, 'obj'));
      await new Promise((r) => setTimeout(r, 20));
      await fsp.writeFile(path.join(src, 'obj'), pseudoRandom(3, 50_000));
      await fsp.utimes(path.join(src, 'obj'), before.atime, before.mtime);
      const second = await backupTree(repo, src, { id: 'two', pool, parent: first });
      const obj = second.files.find((f) => f.path === 'obj')!;
      expect(Buffer.from(obj.chunks!).equals(Buffer.from(first.files.find((f) => f.path === 'obj')!.chunks!))).toBe(false);
      // the untouched file is still reused unread
      expect(second.files.find((f) => f.path === 'same')!.chunks).toEqual(first.files.find((f) => f.path === 'same')!.chunks);
      await restoreBackup(repo, second, path.join(work, 'out'), { pool });
      expect((await fsp.readFile(path.join(work, 'out', 'obj'))).equals(Buffer.from(pseudoRandom(3, 50_000)))).toBe(true);
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  });
});

describe('deduplication', () => {
  it('backing up the same tree twice adds less than 1%', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      const files = Array.from({ length: 20 }, (_, i) => ({ path: `obj/${i}`, data: pseudoRandom(i + 10, 200_000 + i * 1000), mode: 0o644 }));
      await writeTree(src, files);
      const store = new MemStore();
      const repo = await Repository.init(store, SMALL);
      await backupTree(repo, src, { id: 'one', pool });
      const s1 = await storeSize(store);
      // touch every file so nothing is skipped by mtime: the chunks themselves must dedup
      for (const f of files) await fsp.utimes(path.join(src, f.path), new Date(), new Date(Date.now() + 5000));
      await backupTree(repo, src, { id: 'two', pool });
      const s2 = await storeSize(store);
      expect((s2 - s1) / s1).toBeLessThan(0.01);
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  });

  it('appending to one file adds roughly the appended bytes', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      const big = pseudoRandom(99, 2 * 1024 * 1024);
      await writeTree(src, [{ path: 'log', data: big, mode: 0o644 }]);
      const store = new MemStore();
      const repo = await Repository.init(store, { ...SMALL, compression: 'none' });
      await backupTree(repo, src, { id: 'one', pool });
      const s1 = await storeSize(store);
      const extra = pseudoRandom(100, 100_000);
      await fsp.appendFile(path.join(src, 'log'), extra);
      const parent = await repo.loadManifest('one');
      await backupTree(repo, src, { id: 'two', pool, parent });
      const added = (await storeSize(store)) - s1;
      expect(added).toBeGreaterThan(extra.length * 0.9);
      expect(added).toBeLessThan(extra.length + 40_000); // the last old chunk is re-cut, plus metadata
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  });
});
