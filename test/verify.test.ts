import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { isMobrError } from '../src/errors.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

let pool: WorkerPool;
let work: string;
let pristine: string;
const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
const files = Array.from({ length: 8 }, (_, i) => ({ path: `f${i}`, data: pseudoRandom(i + 1, 20_000 + i * 7000, i % 2 === 0), mode: 0o644 }));

beforeAll(async () => {
  pool = new WorkerPool(2);
  work = await tempDir();
  await writeTree(path.join(work, 'src'), files);
  pristine = path.join(work, 'pristine');
  const repo = await Repository.init(new FsStore(pristine), SMALL);
  await backupTree(repo, path.join(work, 'src'), { id: 'b1', pool });
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

async function listFiles(root: string, sub: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else out.push(p);
    }
  };
  await visit(path.join(root, sub));
  return out.sort();
}

/** Verify after damage: either the manifest itself is reported, or damaged files are named. */
async function damageReport(repoDir: string): Promise<{ manifestDamaged: boolean; damaged: string[]; damagedPacks: string[] }> {
  const repo = await Repository.open(new FsStore(repoDir));
  let m;
  try {
    m = await repo.loadManifest('b1');
  } catch (e) {
    expect(isMobrError(e, 'CORRUPT_MANIFEST')).toBe(true);
    return { manifestDamaged: true, damaged: [], damagedPacks: [] };
  }
  const r = await verifyBackup(repo, m, { readData: true, pool });
  return { manifestDamaged: false, damaged: r.damaged.map((d) => d.path), damagedPacks: r.damagedPacks.map((d) => d.pack) };
}

describe('verify detects damage', () => {
  it('a flipped byte in any pack, index or manifest is detected and names what is damaged', async () => {
    const targets = [...(await listFiles(pristine, 'data')), ...(await listFiles(pristine, 'index')), ...(await listFiles(pristine, 'backups'))];
    await fc.assert(
      fc.asyncProperty(fc.nat(targets.length - 1), fc.nat(), fc.integer({ min: 0, max: 7 }), async (which, at, bit) => {
        const copy = path.join(work, 'copy');
        await fsp.rm(copy, { recursive: true, force: true });
        await fsp.cp(pristine, copy, { recursive: true });
        const rel = path.relative(pristine, targets[which]);
        const f = path.join(copy, rel);
        const data = await fsp.readFile(f);
        data[at % data.length] ^= 1 << bit;
        await fsp.writeFile(f, data);
        const r = await damageReport(copy);
        if (rel.startsWith('backups')) expect(r.manifestDamaged).toBe(true);
        else expect(r.damaged.length + r.damagedPacks.length).toBeGreaterThan(0);
        // restore of a damaged backup fails loudly, or (damage outside every chunk it reads, e.g.
        // a pack header) succeeds with the right bytes: never a bad file under a real name
        if (!r.manifestDamaged) {
          const repo = await Repository.open(new FsStore(copy));
          const out = path.join(work, 'out');
          await fsp.rm(out, { recursive: true, force: true });
          const ok = await restoreBackup(repo, await repo.loadManifest('b1'), out, { pool }).then(
            () => true,
            () => false,
          );
          if (ok) expect((await fsp.readdir(out)).sort()).toEqual(files.map((x) => x.path).sort());
          for (const name of await fsp.readdir(out)) {
            const want = files.find((x) => x.path === name);
            if (want) expect(Buffer.compare(await fsp.readFile(path.join(out, name)), want.data)).toBe(0);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a deleted pack names exactly the files that used it', async () => {
    const copy = path.join(work, 'copy2');
    await fsp.cp(pristine, copy, { recursive: true });
    const packs = await listFiles(copy, 'data');
    await fsp.rm(packs[0]);
    const repo = await Repository.open(new FsStore(copy));
    const m = await repo.loadManifest('b1');
    const quick = await verifyBackup(repo, m, { readData: false });
    const deep = await verifyBackup(repo, m, { readData: true, pool });
    expect(quick.damaged.length).toBeGreaterThan(0);
    expect(deep.damaged.map((d) => d.path)).toEqual(quick.damaged.map((d) => d.path));
    expect(quick.damaged.length).toBeLessThan(files.length);
  });
});
