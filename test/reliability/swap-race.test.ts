/**
 * Swap races (issue #26.2, #26.3; spec/reliability.md §9): a folder replaced by a link to a
 * folder elsewhere while a backup or a restore runs never makes mobr read from, or write to,
 * outside the tree the user named. The swap is done at a known point (the backup's onWalk hook;
 * the restore's onProgress after its first files) and the test asserts that it happened.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { backup, openRepository, restore } from '../../src/index.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'mobr-swap-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** `n` small files named f0…f(n-1) holding `tag` and their index. */
function fill(dir: string, n: number, tag: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(path.join(dir, `f${i}`), `${tag} ${i}\n`);
}

describe('a cold backup reads only the files its walk saw', () => {
  it('fails, naming the file, when a walked folder is swapped for a link to a folder outside the tree after the walk', async () => {
    const data = path.join(work, 'data');
    fill(path.join(data, 'sub'), 100, 'inside');
    fill(path.join(work, 'secret'), 100, 'SECRET');
    const repo = await openRepository(path.join(work, 'repo'), { create: true });
    let swapped = false;
    const run = backup(repo, data, {
      id: 'a1b2c3d4-0000-4000-8000-000000000001',
      onWalk: () => {
        renameSync(path.join(data, 'sub'), path.join(work, 'sub-away'));
        symlinkSync(path.join(work, 'secret'), path.join(data, 'sub'));
        swapped = lstatSync(path.join(data, 'sub')).isSymbolicLink() && readFileSync(path.join(data, 'sub/f0'), 'utf8').startsWith('SECRET');
      },
    });
    await expect(run).rejects.toThrow(/sub\/f\d+: is another file than the walk saw/);
    expect(swapped).toBe(true);
    expect(await repo.listBackupIds()).toEqual([]);
  });

  it('never follows a file swapped for a link after the walk', async () => {
    const data = path.join(work, 'data');
    fill(data, 3, 'inside');
    writeFileSync(path.join(work, 'secret'), 'SECRET');
    const repo = await openRepository(path.join(work, 'repo'), { create: true });
    const run = backup(repo, data, {
      id: 'a1b2c3d4-0000-4000-8000-000000000002',
      onWalk: () => {
        rmSync(path.join(data, 'f1'));
        symlinkSync(path.join(work, 'secret'), path.join(data, 'f1'));
      },
    });
    await expect(run).rejects.toThrow(/f1: a link where a file was walked/);
    expect(lstatSync(path.join(data, 'f1')).isSymbolicLink()).toBe(true);
    expect(await repo.listBackupIds()).toEqual([]);
    expect(readdirSync(data)).toHaveLength(3);
  });
});

describe('a restore writes only inside its target', () => {
  it('a checked folder swapped for a link mid-restore sends no write outside the target', async () => {
    const data = path.join(work, 'data');
    fill(path.join(data, 'sub'), 300, 'restored');
    const repo = await openRepository(path.join(work, 'repo'), { create: true, packSize: 4096 });
    const id = 'a1b2c3d4-0000-4000-8000-000000000003';
    await backup(repo, data, { id });
    const target = path.join(work, 'target');
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    let swappedAt = -1;
    await restore(repo, id, target, {
      parallelism: 1,
      onProgress: (p) => {
        if (swappedAt >= 0 || p.files < 1) return;
        renameSync(path.join(target, 'sub'), path.join(work, 'sub-away'));
        symlinkSync(outside, path.join(target, 'sub'));
        swappedAt = p.files;
      },
    }).catch(() => undefined); // whether it reports the swap or not, nothing may land outside
    expect(swappedAt).toBeGreaterThan(0);
    expect(swappedAt).toBeLessThan(300); // the swap came while files were still to be written
    expect(lstatSync(path.join(target, 'sub')).isSymbolicLink()).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
    // what was written after the swap went into the folder restore had checked (moved away)
    expect(readdirSync(path.join(work, 'sub-away')).filter((n) => n.startsWith('f')).length).toBe(300);
  });
});
