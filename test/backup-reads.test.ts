/**
 * How a backup reads small files (src/workers/files-task.ts): one read call each, a byte more
 * than the walk's size asked for, so the end is seen without a second read; in the backup's own
 * thread while those reads are quick, ahead on the I/O pool (ReadAhead) once one is slow; a file
 * that grew or shrank between the walk and the read is backed up as it was read.
 */
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';
import { smallReads } from '../src/workers/files-task.js';

/** This process's read calls so far (Linux: /proc/self/io, all its threads). */
const readCalls = (): number => Number(/^syscr:\s+(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

describe('backup reads', () => {
  // A small file is read in the backup's own thread while the page cache serves them (the
  // process's storage reads grow by a page a look: metadata), else opened and read ahead on the
  // I/O pool (they grow by 64 pages a look, as a cold cache's reads of the files do): one read
  // call each, both ways, and the same bytes. The storage counter is replaced (the cache's state
  // is the machine's).
  for (const way of ['here', 'ahead'] as const) {
    it.runIf(process.platform === 'linux')(`reads each small file in one call (the end seen without a second read), ${way === 'here' ? 'in this thread from a warm cache' : 'ahead on the I/O pool from a cold one'}`, async () => {
      const work = await tempDir();
      const storageRead = smallReads.storageRead;
      let disk = 0;
      try {
        const n = 400;
        const files = Array.from({ length: n }, (_, i) => ({ path: `d${i % 9}/f${i}`, data: pseudoRandom(i + 1, (i * 331) % 5000, i % 2 === 0), mode: 0o640 }));
        await writeTree(path.join(work, 'src'), files);
        const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
        await backupTree(repo, path.join(work, 'src'), { id: 'warm-up' }); // modules, zstd and the repository's own files
        smallReads.storageRead = () => (disk += way === 'here' ? 4096 : 64 * 4096);
        let before = 0;
        const was = { ...smallReads };
        await backupTree(repo, path.join(work, 'src'), { id: 'b', onWalk: () => void (before = readCalls()) });
        const reads = readCalls() - before;
        // two reads a file before (the file, then an empty read at its end)
        expect(reads).toBeGreaterThanOrEqual(n);
        expect(reads).toBeLessThan(n * 1.5);
        // a task (up to 512 files: one here) looks after 16 files read in this thread, and reads the rest ahead if storage was read as for them
        expect({ here: smallReads.here - was.here, ahead: smallReads.ahead - was.ahead }).toEqual(way === 'here' ? { here: n, ahead: 0 } : { here: 16, ahead: n - 16 });
        await restoreBackup(repo, await repo.loadManifest('b'), path.join(work, 'out'));
        const back = await readTree(path.join(work, 'out'));
        for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, f.data), f.path).toBe(0);
      } finally {
        smallReads.storageRead = storageRead;
        await rm(work, { recursive: true, force: true });
      }
    });
  }

  it('a file that grew, shrank or emptied after the walk is backed up as it was read', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      const files = ['grew', 'shrank', 'emptied', 'same', 'was-empty'].map((p, i) => ({ path: p, data: pseudoRandom(i + 7, p === 'was-empty' ? 0 : 3000 + i, true), mode: 0o644 }));
      await writeTree(src, files);
      const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
      await backupTree(repo, src, {
        id: 'b',
        onWalk: () => {
          appendFileSync(path.join(src, 'grew'), 'more than one byte');
          truncateSync(path.join(src, 'shrank'), 1000);
          truncateSync(path.join(src, 'emptied'), 0);
          writeFileSync(path.join(src, 'was-empty'), 'now three');
        },
      });
      const m = await repo.loadManifest('b');
      await restoreBackup(repo, m, path.join(work, 'out'));
      const now = await readTree(src);
      const back = await readTree(path.join(work, 'out'));
      for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, now.get(f.path)!.data), f.path).toBe(0);
      expect(m.files.find((f) => f.path === 'grew')!.size).toBe(3000 + 'more than one byte'.length);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
