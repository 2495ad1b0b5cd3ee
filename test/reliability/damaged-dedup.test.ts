/**
 * A backup into a damaged repository never references a chunk whose pack is missing or damaged
 * (spec/reliability.md §2.2): it stores such data again, so the new backup restores; check
 * --repair and gc drop index records of packs that are gone, so damage never poisons later backups.
 * Each case damages the packs of backup 1, then backs up the same intact source again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { backupIdOf, ensureBuilt, initTinyRepo, treeHashes } from './cli.js';
import { mobrIn as mobr } from '../helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-dmgdedup-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** Pack files of the repository, largest first (so "the first pack" is a full one). */
async function packs(repo: string): Promise<string[]> {
  const out: { file: string; size: number }[] = [];
  for (const shard of await fsp.readdir(path.join(repo, 'data')).catch(() => [])) {
    for (const n of await fsp.readdir(path.join(repo, 'data', shard))) {
      if (n.includes('.tmp-')) continue;
      const file = path.join(repo, 'data', shard, n);
      out.push({ file, size: (await fsp.stat(file)).size });
    }
  }
  return out.sort((a, b) => b.size - a.size || (a.file < b.file ? -1 : 1)).map((x) => x.file);
}

type Damage = (repo: string) => Promise<void>;

const damages: Record<string, Damage> = {
  'one pack deleted': async (repo) => fsp.rm((await packs(repo))[0]),
  'one pack truncated to 0 bytes': async (repo) => fsp.truncate((await packs(repo))[0], 0),
  'one pack overwritten with zeros (same size)': async (repo) => {
    const f = (await packs(repo))[0];
    await fsp.writeFile(f, Buffer.alloc((await fsp.stat(f)).size));
  },
  'two packs swapped': async (repo) => {
    const [a, b] = await packs(repo);
    const [da, db] = [await fsp.readFile(a), await fsp.readFile(b)];
    await fsp.writeFile(a, db);
    await fsp.writeFile(b, da);
  },
  'a byte flipped inside a blob': async (repo) => {
    const f = (await packs(repo))[0];
    const buf = await fsp.readFile(f);
    buf[100] ^= 0x10;
    await fsp.writeFile(f, buf);
  },
  'data/ deleted': async (repo) => fsp.rm(path.join(repo, 'data'), { recursive: true }),
};

async function scenario(name: string, damage: Damage, o: { repair?: boolean; deleteAllFirst?: boolean }): Promise<void> {
  const dir = path.join(work, name.replace(/\W+/g, '-') + (o.repair ? '-repair' : '') + (o.deleteAllFirst ? '-gc' : ''));
  const repo = path.join(dir, 'repo');
  const src = path.join(dir, 'src');
  const M = ['--meta_path', path.join(dir, 'mo_br.meta')];
  await initTinyRepo(repo);
  await fsp.mkdir(src, { recursive: true });
  for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(src, `f${i}`), pseudoRandom(100 + i, 90_000 + i * 7000));
  const tree = await treeHashes(src);
  const backup = () => mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], dir);
  const b1 = await backup();
  expect(b1.code, b1.stderr).toBe(0);
  await damage(repo);
  if (o.repair) await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, '--repair', ...M], dir); // exits 1: backup 1 is damaged
  if (o.deleteAllFirst) {
    const d = await mobr(['delete', backupIdOf(b1.stdout)!, ...M], dir);
    expect(d.code, d.stderr).toBe(0);
  }
  const b2 = await backup();
  expect(b2.code, b2.stderr).toBe(0);
  const id2 = backupIdOf(b2.stdout)!;
  const chk = await mobr(['check', id2, ...M], dir);
  expect(chk.code, chk.stdout + chk.stderr).toBe(0);
  const dest = path.join(dir, 'restore');
  const r = await mobr(['restore', id2, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], dir);
  expect(r.code, r.stderr).toBe(0);
  expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(tree);
}

describe('a backup into a damaged repository stores damaged data again and restores', () => {
  for (const name of ['one pack deleted', 'one pack truncated to 0 bytes', 'two packs swapped', 'data/ deleted']) {
    it(`${name}: found by the backup itself (existence and size)`, () => scenario(name, damages[name], {}), 60_000);
  }
  for (const name of Object.keys(damages)) {
    it(`${name}: after check --repair`, () => scenario(name, damages[name], { repair: true }), 60_000);
  }
  it('one pack deleted, check --repair, every backup deleted (gc runs), backup again', () => scenario('one pack deleted', damages['one pack deleted'], { repair: true, deleteAllFirst: true }), 60_000);
  it('one pack deleted, every backup deleted (gc runs), backup again', () => scenario('one pack deleted', damages['one pack deleted'], { deleteAllFirst: true }), 60_000);
});
