/**
 * `./mo_br restore` beside `./mo_br delete` of the very backup it restores (issue #25, spec/gc.md
 * §2.4): the restore holds a shared lock on the repository, so the delete's gc cannot take its
 * exclusive one; it removes the manifest and frees nothing ("no space freed yet"), and the
 * restore, stopped (SIGSTOP) while it held its lock and then let go on, restores every byte.
 * Without the restore's lock the gc (safety none) would free every pack of the backup under it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tempDir } from './helpers/tree.js';
import { until } from './helpers/until.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { backupIdOf, initTinyRepo, makeMoData, treeHashes } from './reliability/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-restore-delete-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const listed = (dir: string) => fsp.readdir(dir, { recursive: true }).then((n) => n.map(String).filter((f) => !f.includes('.tmp-')), () => [] as string[]);

describe('a restore beside a delete of the backup it restores', () => {
  it('the delete frees nothing while the restore holds the repository; the restore restores whole', async () => {
    const data = path.join(work, 'mo-data');
    const repo = path.join(work, 'repo');
    const meta = path.join(work, 'mo_br.meta');
    await makeMoData(data, 4, 2 * 1024 * 1024); // ~8 MiB in 16 KiB chunks: the restore takes a while
    await initTinyRepo(repo);
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta], work);
    expect(b.code, b.stderr).toBe(0);
    const id = backupIdOf(b.stdout)!;
    const packs = (await listed(path.join(repo, 'data'))).sort();
    expect(packs.length).toBeGreaterThan(0);

    const dest = path.join(work, 'target');
    let child: ChildProcess | undefined;
    let ended = false;
    const restore = mobr(['restore', id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', dest], work, { onSpawn: (p) => (child = p) }).finally(() => void (ended = true));
    await until(async () => ended || (await listed(path.join(repo, 'locks'))).length > 0, 60_000, 'the restore to lock the repository');
    expect(ended, 'the restore ended before its lock was seen').toBe(false);
    child!.kill('SIGSTOP');
    let del;
    try {
      del = await mobr(['delete', id, '--meta_path', meta, '--safety', 'none'], work, { killAfterMs: 100_000 });
    } finally {
      child!.kill('SIGCONT');
    }
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/^delete: no space freed yet: .*restore.*\. The data is freed by the next delete or prune run while no backup runs$/m);
    expect((await listed(path.join(repo, 'data'))).sort(), 'packs freed under the restore').toEqual(packs);
    expect(await listed(path.join(repo, 'backups')), 'the manifest is deleted').toEqual([]);
    const r = await restore;
    expect(r.code, r.stderr).toBe(0);
    expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(await treeHashes(data));
  }, 120_000);
});
