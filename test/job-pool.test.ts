/**
 * Which pool a backup, restore or check gets (jobPool, src/workers/pool.ts): its tasks run in this
 * thread when the job is small or the machine has less than a core and a half to spare, so no
 * worker starts and no hand-off waits for a core; else in worker threads.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INLINE_BYTES, WorkerPool, jobPool } from '../src/workers/pool.js';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';
import { workersStartedBy } from './helpers/workers.js';


const GiB = 1024 ** 3;

/** A spareCores stand-in: `n` cores spare, and how often it was asked. */
const spareOf = (n: number) => {
  const f = Object.assign(async () => (f.asked++, n), { asked: 0 });
  return f;
};

describe('jobPool', () => {
  it('runs a small job in this thread, whatever the machine, without sampling it', async () => {
    for (const cores of [1, 2, 16]) {
      const spare = spareOf(cores);
      const p = await jobPool(INLINE_BYTES, undefined, spare, cores);
      expect(p.inline).toBe(true);
      expect(p.threads).toBe(1);
      expect(spare.asked).toBe(0);
    }
  });

  it('runs a big job in workers, one a core (or --parallelism), when cores are free', async () => {
    expect(await jobPool(INLINE_BYTES + 1, undefined, spareOf(2), 2)).toMatchObject({ inline: false, threads: 2 });
    expect(await jobPool(GiB, undefined, spareOf(1.6), 8)).toMatchObject({ inline: false, threads: 8 });
    expect(await jobPool(GiB, 3, spareOf(8), 8)).toMatchObject({ inline: false, threads: 3 });
  });

  it('runs a big job in this thread when less than a core and a half is spare now, or on one core', async () => {
    expect((await jobPool(GiB, undefined, spareOf(1.4), 2)).inline).toBe(true);
    expect((await jobPool(GiB, undefined, spareOf(0), 2)).inline).toBe(true);
    expect((await jobPool(GiB, 4, spareOf(1), 8)).inline).toBe(true);
    const one = spareOf(1);
    expect((await jobPool(GiB, undefined, one, 1)).inline).toBe(true);
    expect(one.asked, 'one core: nothing to sample').toBe(0);
  });

  it('starts no worker until a task needs one', async () => {
    const p = await jobPool(GiB, 2, spareOf(2), 2);
    expect(p.workersStarted).toBe(false);
    await p.close();
  });

  it('a small backup chunks its files in this thread (no worker starts); a pool of 2 workers starts 2', async () => {
    const work = await tempDir();
    try {
      const files = Array.from({ length: 60 }, (_, i) => ({ path: `d${i % 7}/f${i}`, data: pseudoRandom(i + 1, 100 + ((i * 613) % 9000), i % 3 === 0), mode: 0o640 }));
      await writeTree(path.join(work, 'src'), files);
      const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
      const run = async (id: string, pool?: WorkerPool) => (await workersStartedBy(() => backupTree(repo, path.join(work, 'src'), { id, pool }))).started;
      const two = new WorkerPool(2);
      expect(await run('control', two), 'the count sees workers').toBe(2);
      await two.close();
      expect(await run('small')).toBe(0);
      await restoreBackup(repo, await repo.loadManifest('small'), path.join(work, 'out'));
      const back = await readTree(path.join(work, 'out'));
      for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, f.data), f.path).toBe(0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 30_000);
});
