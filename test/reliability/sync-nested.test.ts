/**
 * A sync whose target lies inside the source repository (its backups/, any folder below it, or
 * through a symlink) is refused up front in one line, and nothing is written (spec/sync.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { allPaths, ensureBuilt, initTinyRepo } from './cli.js';
import { mobrIn as mobr } from '../helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-syncnest-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

describe('sync into the source repository', () => {
  it('backups/x, data/x, a folder below, a link into it, and the parent of the source: refused, nothing written', async () => {
    const repo = path.join(work, 'repo');
    const src = path.join(work, 'src');
    const M = ['--meta_path', path.join(work, 'mo_br.meta')];
    await initTinyRepo(repo);
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'f'), pseudoRandom(3, 100_000));
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
    expect(b.code, b.stderr).toBe(0);
    await fsp.symlink(path.join(repo, 'index'), path.join(work, 'link'));
    const before = await allPaths(repo);
    for (const target of [path.join(repo, 'backups', 'x'), path.join(repo, 'data', 'mirror'), path.join(repo, 'a', 'b'), path.join(work, 'link', 'm'), work]) {
      const r = await mobr(['sync', '--backup_dir', 'filesystem', '--backup_path', repo, '--target_dir', 'filesystem', '--target_path', target, ...M], work);
      expect(r.code, target).toBe(2);
      expect(r.stderr, target).toMatch(/^mo_br: the target .* lie one inside the other; sync to a place outside the source repository \(nothing was written\)\n$/);
      expect(await allPaths(repo), target).toEqual(before);
    }
    const c = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  }, 90_000);
});
