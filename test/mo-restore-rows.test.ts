/**
 * `./mo_br restore` and `./mo_br check` of a MatrixOne server backup work on the manifest's file
 * table by row: no entry object a file is made (issue #22: a million files under 1 GiB). Run in
 * process (mobrIn) with every loaded manifest's `files` getter counted; before, restoreMatrixOne
 * read `files` to plan each file, and check sorted a copy of `files` into mo_br's order.
 * The restore still frames every TAE file for the DISK default, prints mo_br's sorted
 * `Copy tae file` lines, and check still reports in mo_br's order.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { backupTree } from '../src/backup/backup.js';
import { unframe } from '../src/mo/framing.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';
import { mobrIn } from './helpers/cli.js';

let work: string;
let repoDir: string;
// names chosen so that path order and mo_br's check order differ (hk_data first, tae_list and tae_sum before the objects)
const files = [
  ...Array.from({ length: 40 }, (_, i) => ({ path: `tae/${i % 3 === 0 ? 'ckp/' : ''}obj_${String(i).padStart(2, '0')}`, data: pseudoRandom(i + 1, 100 + i * 53), mode: 0o644 })),
  { path: 'tae/tae_list', data: Buffer.from('list'), mode: 0o644 },
  { path: 'tae/tae_sum', data: Buffer.from('sum'), mode: 0o644 },
  { path: 'hakeeper/hk_data', data: pseudoRandom(99, 3000), mode: 0o644 },
];

beforeAll(async () => {
  work = await tempDir('mobr-mo-rows-');
  await writeTree(path.join(work, 'src'), files);
  repoDir = path.join(work, 'repo');
  const repo = await Repository.openOrInit(new FsStore(repoDir), {});
  await backupTree(repo, path.join(work, 'src'), { id: 'server', source: { kind: 'matrixone' } });
  await repo.close();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await fsp.rm(work, { recursive: true, force: true });
});

/** Counts reads of `files` on every manifest the repository loads from now on. */
function countFilesReads(): { reads: number; loaded: number } {
  const seen = { reads: 0, loaded: 0 };
  const load = Repository.prototype.loadManifest;
  vi.spyOn(Repository.prototype, 'loadManifest').mockImplementation(async function (this: Repository, id: string) {
    const m = await load.call(this, id);
    seen.loaded++;
    const get = Object.getOwnPropertyDescriptor(m, 'files')!.get!;
    Object.defineProperty(m, 'files', { get: () => (seen.reads++, get()), enumerable: true, configurable: true });
    return m;
  });
  return seen;
}

const where = () => ['--backup_dir', 'filesystem', '--backup_path', repoDir];

describe('mo_br restore and check of a server backup, by row', () => {
  it('restore reads no entry of the manifest, frames each TAE file and prints the sorted tae lines', async () => {
    const seen = countFilesReads();
    const dest = path.join(work, 'restored');
    const r = await mobrIn(['restore', 'server', ...where(), '--restore_dir', 'filesystem', '--restore_path', dest], work);
    vi.restoreAllMocks();
    expect(r.code, r.stderr).toBe(0);
    expect(seen.loaded).toBeGreaterThan(0);
    expect(seen.reads).toBe(0);
    const objects = files.filter((f) => f.path.startsWith('tae/obj') || f.path.startsWith('tae/ckp/'));
    const lines = objects.map((f) => `    ${f.path.slice(4)} => mo-data/shared/${f.path.slice(4)}`).sort();
    expect(r.stdout).toContain(`restore file num: ${objects.length + 1}, total file num: ${files.length}`);
    expect(r.stdout).toContain(`Copy tae file ${objects.length}\n${lines.join('\n')}\n`);
    for (const f of objects) {
      const got = await fsp.readFile(path.join(dest, 'mo-data', 'shared', f.path.slice(4)));
      expect(Buffer.from(unframe(got, f.path)).equals(Buffer.from(f.data)), f.path).toBe(true);
    }
    const hk = await fsp.readFile(path.join(dest, 'mo-data', 'local', 'hk_data'));
    expect(Buffer.from(unframe(hk, 'hk_data')).equals(Buffer.from(files.at(-1)!.data))).toBe(true);
  });

  it("check reads no entry of the manifest and reports in mo_br's order", async () => {
    const seen = countFilesReads();
    const r = await mobrIn(['check', 'server', ...where()], work);
    vi.restoreAllMocks();
    expect(r.code, r.stderr).toBe(0);
    expect(seen.loaded).toBeGreaterThan(0);
    expect(seen.reads).toBe(0);
    const checked = r.stdout.split('\n').filter((l) => l.startsWith('check: ')).map((l) => l.slice(7));
    const objects = files.filter((f) => f.path.startsWith('tae/obj') || f.path.startsWith('tae/ckp/')).map((f) => f.path).sort();
    expect(checked).toEqual(['hakeeper/hk_data', 'tae/tae_list', 'tae/tae_sum', ...objects]);
  });
});
