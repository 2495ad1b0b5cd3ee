/**
 * A restore's pool is sized by its files as well as its bytes (restoreWork, src/workers/pool.ts):
 * each file costs a create, a write, its times, a close and a rename, so twelve thousand small
 * files are worth worker threads on free cores although their bytes are few (issue #22).
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as poolModule from '../src/workers/pool.js';
import { FILE_COST_BYTES, INLINE_BYTES, restoreWork } from '../src/workers/pool.js';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';

vi.mock('../src/workers/pool.js', async (importOriginal) => {
  const m = await importOriginal<typeof poolModule>();
  return { ...m, jobPool: vi.fn(m.jobPool) };
});

const spareOf = (n: number) => async () => n;

describe('restoreWork', () => {
  it('counts each file as FILE_COST_BYTES beside its bytes', () => {
    expect(restoreWork(0, 0)).toBe(0);
    expect(restoreWork(1000, 3)).toBe(1000 + 3 * FILE_COST_BYTES);
  });

  it('twelve thousand checkpoint files (21 MiB) get workers on two free cores; a hundred do not', async () => {
    const ckp = await poolModule.jobPool(restoreWork(21 * 1024 * 1024, 12_000), undefined, spareOf(2), 2);
    expect(ckp.inline).toBe(false);
    await ckp.close();
    const few = await poolModule.jobPool(restoreWork(21 * 1024 * 1024, 100), undefined, spareOf(2), 2);
    expect(few.inline).toBe(true);
    expect(restoreWork(21 * 1024 * 1024, 12_000)).toBeGreaterThan(INLINE_BYTES);
  });

  it('restoreBackup asks jobPool for its bytes plus a file cost a file', async () => {
    const work = await tempDir();
    try {
      const files = Array.from({ length: 30 }, (_, i) => ({ path: `d${i % 3}/f${i}`, data: pseudoRandom(i + 7, 50 + i * 37, false), mode: 0o644 }));
      await writeTree(path.join(work, 'src'), files);
      const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
      await backupTree(repo, path.join(work, 'src'), { id: 'b' });
      const asked = vi.mocked(poolModule.jobPool);
      asked.mockClear();
      await restoreBackup(repo, await repo.loadManifest('b'), path.join(work, 'out'));
      const bytes = files.reduce((s, f) => s + f.data.length, 0);
      expect(asked.mock.calls.map((c) => c[0])).toEqual([bytes + files.length * FILE_COST_BYTES]);
      const back = await readTree(path.join(work, 'out'));
      for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, f.data), f.path).toBe(0);
      await repo.close();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 30_000);
});
