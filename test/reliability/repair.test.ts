/**
 * Index rebuild (spec/reliability.md §2.1): `mo_br check --repair` / repairIndex reads the headers
 * of packs no sound index object names and writes them into a new index object, then removes the
 * damaged index objects. After it, backups whose data is intact check and restore again and gc
 * (which refuses to run past a damaged index object) works; damage repair cannot undo (a damaged
 * pack) is still reported by file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { Repository } from '../../src/repo/repository.js';
import { repairIndex } from '../../src/repo/repair.js';
import { gc } from '../../src/repo/gc.js';
import { MemStore } from '../../src/store/mem.js';
import { backupTree } from '../../src/backup/backup.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { isMobrError } from '../../src/errors.js';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { backupIdOf, ensureBuilt, initTinyRepo, treeHashes } from './cli.js';
import { mobrIn as mobr } from '../helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-repair-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function setup(name: string): Promise<{ repo: string; M: string[]; ids: string[]; trees: Map<string, string>[] }> {
  const repo = path.join(work, name, 'repo');
  const M = ['--meta_path', path.join(work, name, 'mo_br.meta')];
  await initTinyRepo(repo);
  const ids: string[] = [];
  const trees: Map<string, string>[] = [];
  for (const seed of [1, 2]) {
    const src = path.join(work, name, `src${seed}`);
    await fsp.mkdir(src, { recursive: true });
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(src, `f${i}`), pseudoRandom(seed * 10 + i, 80_000));
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
    expect(r.code, r.stderr).toBe(0);
    ids.push(backupIdOf(r.stdout)!);
    trees.push(await treeHashes(src));
  }
  return { repo, M, ids, trees };
}

const indexFiles = async (repo: string) => (await fsp.readdir(path.join(repo, 'index'))).filter((n) => !n.includes('.tmp-'));

describe('check --repair', () => {
  it('damaged and deleted index objects: check fails, --repair rebuilds, check and restore pass, gc runs again', async () => {
    const { repo, M, ids, trees } = await setup('flip');
    const idx = await indexFiles(repo);
    expect(idx.length).toBeGreaterThanOrEqual(2);
    const buf = await fsp.readFile(path.join(repo, 'index', idx[0]));
    buf[buf.length >> 1] ^= 1;
    await fsp.writeFile(path.join(repo, 'index', idx[0]), buf);
    await fsp.rm(path.join(repo, 'index', idx[1]));
    const before = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
    expect(before.code, before.stderr).toBe(1);
    // gc refuses to run past a damaged index object (its packs would look unused)
    const gcBefore = await gc(await Repository.open(new FsStore(repo))).then(() => undefined, (e) => e);
    expect(isMobrError(gcBefore, 'CORRUPT_INDEX'), String(gcBefore)).toBe(true);
    const fixed = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, '--repair', ...M], work);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^repair: removed damaged index\/[0-9a-f]+… \(.*checksum mismatch.*\)$/m);
    expect(fixed.stdout).toMatch(/^repair: re-indexed [1-9]\d* pack\(s\), [1-9]\d* chunk\(s\) from their headers$/m);
    expect(await indexFiles(repo)).not.toContain(idx[0]);
    for (const [i, id] of ids.entries()) {
      const dest = path.join(work, `flip-restore-${i}`);
      const r = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
      expect(r.code, r.stderr).toBe(0);
      expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(trees[i]);
    }
    const del = await mobr(['delete', ids[0], ...M], work);
    expect(del.code, del.stderr).toBe(0);
    const after = await mobr(['check', ids[1], ...M], work);
    expect(after.code, after.stderr).toBe(0);
    // A second repair finds nothing to do.
    const again = await repairIndex(await Repository.open(new FsStore(repo)));
    expect([again.packsReindexed, again.damagedIndexes.length, again.damagedPacks.length]).toEqual([0, 0, 0]);
  });

  it('a damaged pack with its index gone: repair reports the pack, check still names exactly its files', async () => {
    const { repo, M } = await setup('pack');
    for (const n of await indexFiles(repo)) await fsp.rm(path.join(repo, 'index', n));
    const shard = (await fsp.readdir(path.join(repo, 'data')))[0];
    const pack = (await fsp.readdir(path.join(repo, 'data', shard)))[0];
    const file = path.join(repo, 'data', shard, pack);
    const buf = await fsp.readFile(file);
    buf[buf.length - 20] ^= 1; // in the header: the pack no longer matches its name
    await fsp.writeFile(file, buf);
    const r = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, '--repair', '--json', ...M], work);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.repair.damagedPacks.map((d: { pack: string }) => d.pack)).toEqual([pack]);
    const damaged = out.checks.flatMap((c: { damaged: { path: string }[] }) => c.damaged.map((d) => d.path));
    expect(damaged.length).toBeGreaterThan(0);
    expect(damaged.length).toBeLessThan(6);
  });

  it('--dry-run style library call changes nothing', async () => {
    const { repo } = await setup('dry');
    const idx = await indexFiles(repo);
    await fsp.rm(path.join(repo, 'index', idx[0]));
    const r = await repairIndex(await Repository.open(new FsStore(repo)), { dryRun: true });
    expect(r.packsReindexed).toBeGreaterThan(0);
    expect(await indexFiles(repo)).toEqual(idx.slice(1));
  });
});

describe('repairIndex, an index object rebuilt byte for byte', () => {
  it('a damaged sole index object is rebuilt under its own name (objects are named by their bytes) and not removed after', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 });
    const src = path.join(work, 'same-name');
    await fsp.mkdir(src, { recursive: true });
    await fsp.writeFile(path.join(src, 'f'), pseudoRandom(7, 20_000));
    await backupTree(repo, src, { id: 'x' });
    const keys = () => [...store.objects.keys()].filter((k) => k.startsWith('index/'));
    const [key] = keys();
    expect(keys()).toHaveLength(1);
    const good = store.objects.get(key!)!.data;
    await store.put(key!, pseudoRandom(8, 300));
    const r = await repairIndex(await Repository.open(store));
    expect(r.indexesWritten).toEqual([key]);
    expect(keys(), 'the rebuilt index object is still there').toEqual([key]);
    expect(Buffer.compare(store.objects.get(key!)!.data, good)).toBe(0);
    const v = await verifyBackup(await Repository.open(store), await repo.loadManifest('x'), { readData: true });
    expect(v.damaged).toEqual([]);
  });
});
