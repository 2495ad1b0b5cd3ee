/**
 * How a backup reads small files (src/workers/files-task.ts): one read call each, a byte more
 * than the walk's size asked for, so the end is seen without a second read; in the backup's own
 * thread while those reads are quick, ahead on the I/O pool (ReadAhead) once one is slow; a file
 * that grew or shrank between the walk and the read is backed up as it was read.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';

/** The source under test, run in the child through tsx's loader (never a dist/ that may be stale). */
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const MARK = '/nonexistent-mobr-walked';

/**
 * A backup in a process of its own (src/ through tsx, every module it runs loaded before the
 * walk, so no transform runs while the reads are traced), under strace: its walk opens MARK (a
 * path that does not exist), so the trace shows where the reads of the files begin. `way` stubs the storage counter the task
 * compares with (smallReads.storageRead): a page a look as from a warm cache, or 64 as a cold one.
 * Prints the task's counts of files read in its thread and ahead on the I/O pool.
 */
const CHILD = `
import { openSync } from 'node:fs';
const [lib, src, repoDir, way] = process.argv.slice(2);
const { FsStore } = await import(lib + '/store/fs.js');
const { Repository } = await import(lib + '/repo/repository.js');
const { backupTree } = await import(lib + '/backup/backup.js');
const { smallReads } = await import(lib + '/workers/files-task.js');
await import(lib + '/workers/chunk-worker.js'); // what an inline pool imports at its first task
const repo = await Repository.init(new FsStore(repoDir));
let disk = 0;
smallReads.storageRead = () => (disk += way === 'here' ? 4096 : 64 * 4096);
const was = { ...smallReads };
await backupTree(repo, src, { id: 'b', onWalk: () => { try { openSync(${JSON.stringify(MARK)}); } catch {} } });
process.stdout.write(JSON.stringify({ here: smallReads.here - was.here, ahead: smallReads.ahead - was.ahead }));
`;

/**
 * Read calls (read, pread64) on each file under `root` opened after MARK, from an strace -f log:
 * a descriptor is the file's from its open to its close, in whichever thread they happen; a call
 * strace split in two (<unfinished ...> / <... resumed>) is joined first.
 */
function readsPerFile(log: string, root: string): Map<string, number> {
  const pending = new Map<string, string>();
  const fds = new Map<number, string>();
  const reads = new Map<string, number>();
  let marked = false;
  for (const raw of log.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m;
    let line = rest;
    if (line.endsWith('<unfinished ...>')) { pending.set(pid, line.slice(0, -'<unfinished ...>'.length)); continue; }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) { line = (pending.get(pid) ?? '') + resumed[1]; pending.delete(pid); }
    const open = /^openat\([^,]+, "([^"]*)".* = (-?\d+)/.exec(line);
    if (open) {
      if (open[1] === MARK) marked = true;
      else if (marked && Number(open[2]) >= 0 && open[1].startsWith(root + '/')) fds.set(Number(open[2]), open[1]);
      continue;
    }
    const read = /^(?:read|pread64)\((\d+),/.exec(line);
    const file = read && fds.get(Number(read[1]));
    if (file) reads.set(file, (reads.get(file) ?? 0) + 1);
    const close = /^close\((\d+)\)/.exec(line);
    if (close) fds.delete(Number(close[1]));
  }
  return reads;
}

describe('backup reads', () => {
  // A small file is read in the backup's own thread while the page cache serves them (the
  // process's storage reads grow by a page a look: metadata), else opened and read ahead on the
  // I/O pool (they grow by 64 pages a look, as a cold cache's reads of the files do): one read
  // call each, both ways, and the same bytes. The read calls are counted per file in an strace
  // of the backup (the process's own read count, /proc/self/io, also counts libuv's and the
  // test runner's wake-ups: 1,058 for 400 files on a busy CI machine).
  for (const way of ['here', 'ahead'] as const) {
    it.runIf(process.platform === 'linux')(`reads each small file in one call (the end seen without a second read), ${way === 'here' ? 'in this thread from a warm cache' : 'ahead on the I/O pool from a cold one'}`, async () => {
      const work = await tempDir();
      try {
        const n = 400;
        const files = Array.from({ length: n }, (_, i) => ({ path: `d${i % 9}/f${i}`, data: pseudoRandom(i + 1, (i * 331) % 5000, i % 2 === 0), mode: 0o640 }));
        const src = path.join(work, 'src');
        await writeTree(src, files);
        writeFileSync(path.join(work, 'child.mjs'), CHILD);
        const trace = path.join(work, 'reads.strace');
        const child = ['--import', TSX, path.join(work, 'child.mjs'), pathToFileURL(SRC).href, src, path.join(work, 'repo'), way];
        const r = spawnSync('strace', ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=openat,read,pread64,close', '-o', trace, process.execPath, ...child], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const reads = readsPerFile(readFileSync(trace, 'utf8'), src);
        // two reads a file before (the file, then an empty read at its end)
        expect([...reads.keys()].sort()).toEqual(files.map((f) => path.join(src, f.path)).sort());
        expect([...reads.entries()].filter(([, k]) => k !== 1), 'files read in more than one call').toEqual([]);
        // a task (up to 512 files: one here) looks after 16 files read in this thread, and reads the rest ahead if storage was read as for them
        expect(JSON.parse(r.stdout)).toEqual(way === 'here' ? { here: n, ahead: 0 } : { here: 16, ahead: n - 16 });
        const repo = await Repository.open(new FsStore(path.join(work, 'repo')));
        await restoreBackup(repo, await repo.loadManifest('b'), path.join(work, 'out'));
        const back = await readTree(path.join(work, 'out'));
        for (const f of files) expect(Buffer.compare(back.get(f.path)!.data, f.data), f.path).toBe(0);
      } finally {
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
