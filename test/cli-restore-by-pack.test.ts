/**
 * `./mo_br restore` of a cold backup writes the files stored as their plain bytes by pack
 * (src/backup/restore-packs.ts: each pack read once, its chunks written to every file that holds
 * them), as the library's restore does, not one file at a time with a read of the repository per
 * chunk (issue #22: many small files). Counted under strace: the opens of the repository's packs.
 * Before, `restoreMatrixOne` handed its own chunk reader to every file, which sent every file down
 * the streamed path: 300 files, 300+ opens of packs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';
import { ensureBuilt, MO_BR, mobrIn } from './helpers/cli.js';
import { backupIdOf, treeHashes } from './reliability/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-restore-by-pack-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

describe('mo_br restore of many small files', () => {
  it.runIf(process.platform === 'linux')('reads each pack of the repository a few times, not once a file', async () => {
    const data = path.join(work, 'mo-data');
    const n = 300;
    await writeTree(data, Array.from({ length: n }, (_, i) => ({ path: `shared/d${i % 7}/f${i}`, data: pseudoRandom(i + 3, 200 + ((i * 97) % 3000)), mode: 0o644 })));
    const repo = path.join(work, 'repo');
    const meta = ['--meta_path', path.join(work, 'mo_br.meta')];
    const b = await mobrIn(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, ...meta], work);
    expect(b.code, b.stderr).toBe(0);
    const id = backupIdOf(b.stdout)!;
    const packs = (await fsp.readdir(path.join(repo, 'data'), { recursive: true })).map(String).filter((f) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f.split(path.sep).join('/')));
    expect(packs.length).toBeGreaterThan(0);
    const dest = path.join(work, 'restored');
    const trace = path.join(work, 'restore.strace');
    const r = spawnSync('strace', ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, MO_BR, 'restore', id, ...meta, '--restore_dir', 'filesystem', '--restore_path', dest], { cwd: work, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const opens = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(`"${path.join(repo, 'data')}/`));
    expect(opens.length, `opens of ${packs.length} pack(s) to restore ${n} files`).toBeLessThanOrEqual(4 * packs.length);
    expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(await treeHashes(data));
  });
});
