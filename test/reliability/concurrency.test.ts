/**
 * Concurrency (spec/reliability.md §4), all through ./mo_br processes:
 * - two backups at once into one repository (sharing chunks): both recorded, both check, both
 *   restore byte-identical;
 * - many mo_br processes updating mo_br.meta at once (backups and deletes mixed): the catalog
 *   parses and holds exactly the records it should;
 * - a backup that dedups against an old backup while that backup is deleted (and gc runs, with
 *   its packs aged past gc's safety window): the new backup is never born damaged.
 * The commands that race are ./mo_br processes of their own; the ones that judge the outcome
 * (list, check, restore) and set-up backups run in this process (mobrIn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { allPaths, backupIdOf, ensureBuilt, initTinyRepo, makeMoData, mobr, treeHashes } from './cli.js';
import { mobrIn } from '../helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-concurrency-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function restoresTo(id: string, M: string[], want: Map<string, string>, ctx: string): Promise<void> {
  const dest = path.join(work, `r-${id.slice(0, 8)}-${Math.random().toString(36).slice(2, 6)}`);
  const r = await mobrIn(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
  expect(r.code, `${ctx}: restore ${id}: ${r.stderr}`).toBe(0);
  expect(await treeHashes(path.join(dest, 'mo-data')), `${ctx}: restore ${id}`).toEqual(want);
  await fsp.rm(dest, { recursive: true, force: true });
}

describe('two backups at once into one repository', () => {
  it('both are recorded, check out and restore byte-identical', async () => {
    const repo = path.join(work, 'two-repo');
    const M = ['--meta_path', path.join(work, 'two.meta')];
    await initTinyRepo(repo);
    const a = path.join(work, 'two-a');
    const b = path.join(work, 'two-b');
    await makeMoData(a, 3, 1024 * 1024, 1);
    await makeMoData(b, 3, 1024 * 1024, 1); // same objects: the two race to store the same chunks
    await fsp.writeFile(path.join(b, 'shared', 'only-b'), pseudoRandom(99, 700_000));
    const [ra, rb] = await Promise.all([a, b].map((d) => mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', d, ...M], work)));
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const ids = [backupIdOf(ra.stdout)!, backupIdOf(rb.stdout)!];
    const listed = JSON.parse((await mobrIn(['list', '--json', ...M], work)).stdout).backups.map((r: { id: string }) => r.id);
    expect(listed.sort()).toEqual([...ids].sort());
    const c = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
    expect(c.code, c.stderr).toBe(0);
    await restoresTo(ids[0], M, await treeHashes(a), 'a');
    await restoresTo(ids[1], M, await treeHashes(b), 'b');
  });
});

describe('many processes updating mo_br.meta', () => {
  it('backups and deletes at once: nothing lost, nothing resurrected, the catalog parses', async () => {
    const repo = path.join(work, 'many-repo');
    const M = ['--meta_path', path.join(work, 'many.meta')];
    const data = path.join(work, 'many-data');
    await makeMoData(data, 1, 50_000, 2);
    const BACKUP = ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, ...M];
    const first = await Promise.all([0, 1, 2].map(() => mobr(BACKUP, work)));
    for (const r of first) expect(r.code, r.stderr).toBe(0);
    const doomed = first.map((r) => backupIdOf(r.stdout)!);
    const runs = await Promise.all([
      ...doomed.map((id) => mobr(['delete', id, ...M], work)),
      ...[0, 1, 2, 3].map(() => mobr(BACKUP, work)),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const born = runs.slice(3).map((r) => backupIdOf(r.stdout)!);
    const l = await mobrIn(['list', '--json', ...M], work);
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout).backups.map((r: { id: string }) => r.id).sort()).toEqual([...born].sort());
    expect((await allPaths(work)).filter((p) => /many\.meta\.(tmp|lock)/.test(p))).toEqual([]);
    const c = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
    expect(c.code, c.stderr).toBe(0);
  });
});

describe('backup during delete + gc', () => {
  it('a backup that reuses an old backup\'s chunks while that backup is deleted is never born damaged', async () => {
    let succeeded = 0;
    let raced = 0;
    for (let i = 0; i < 3; i++) {
      const ctx = `iteration ${i}`;
      const repo = path.join(work, `gc-repo-${i}`);
      const M = ['--meta_path', path.join(work, `gc-${i}.meta`)];
      const data = path.join(work, `gc-data-${i}`);
      await initTinyRepo(repo);
      await makeMoData(data, 3, 1024 * 1024, 10 + i);
      const old = await mobrIn(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, ...M], work);
      expect(old.code, old.stderr).toBe(0);
      // Age every object past gc's safety window (store mtimes, which gc reads).
      const past = new Date(Date.now() - 3 * 3600_000);
      for (const p of await allPaths(repo)) {
        const abs = path.join(repo, p);
        if ((await fsp.lstat(abs)).isFile()) await fsp.utimes(abs, past, past);
      }
      await fsp.appendFile(path.join(data, 'etc', 'tn.toml'), `# ${i}\n`);
      const want = await treeHashes(data);
      const backupStart = Date.now();
      const backup = mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, ...M], work);
      await new Promise((r) => setTimeout(r, [0, 300, 700][i]));
      const delStart = Date.now();
      const del = await mobr(['delete', backupIdOf(old.stdout)!, ...M], work);
      const b = await backup;
      if (delStart < backupStart + b.ms) raced++; // the delete began while the backup ran
      expect(del.code, `${ctx}: delete: ${del.stderr}`).toBe(0);
      if (b.code !== 0) {
        // Losing the race is allowed only as a clean, one-line failure that records nothing.
        expect(b.stderr, ctx).toMatch(/^mo_br: [^\n]+\n$/);
        expect(JSON.parse((await mobrIn(['list', '--json', ...M], work)).stdout).backups, ctx).toEqual([]);
        continue;
      }
      succeeded++;
      const id = backupIdOf(b.stdout)!;
      const c = await mobrIn(['check', id, ...M], work);
      expect(c.code, `${ctx}: ${c.stderr}`).toBe(0);
      await restoresTo(id, M, want, ctx);
      // And a later gc (delete of nothing else; prune when available) does not break it either.
      const again = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
      expect(again.code, `${ctx}: ${again.stderr}`).toBe(0);
    }
    expect(raced, 'the delete never overlapped a backup: the race was not tested').toBeGreaterThan(0);
    expect(succeeded, 'every backup lost the race: nothing shows a reusing backup survives').toBeGreaterThan(0);
  });
});
