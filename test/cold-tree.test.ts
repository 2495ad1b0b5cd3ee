/**
 * A cold backup (`mo_br backup --data_dir`) keeps what the folder holds, and restore gives it
 * all back: files with modes and mtimes, empty folders with their modes and mtimes, symbolic
 * links as links (target text and mtime kept). `mo-data/shared` as a link to another disk is
 * followed; links pointing out of the folder are kept as links and named; fifos are skipped and
 * counted; a repository and a catalog inside the folder are left out and named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr } from './helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-cold-tree-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** Every entry below root: kind, mode, mtime (ms), content hash or link target. */
async function describeTree(root: string, o: { follow?: string[]; skip?: string[] } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (dir: string, rel: string) => {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (o.skip?.includes(r)) continue;
      const st = o.follow?.includes(r) ? await fsp.stat(abs) : await fsp.lstat(abs);
      const t = Math.trunc(st.mtimeMs);
      if (st.isDirectory()) {
        out.set(r, `dir ${(st.mode & 0o7777).toString(8)} ${t}`);
        await visit(abs, r);
      } else if (st.isSymbolicLink()) out.set(r, `link ${await fsp.readlink(abs)} ${t}`);
      else if (st.isFile()) out.set(r, `file ${(st.mode & 0o7777).toString(8)} ${t} ${createHash('sha256').update(await fsp.readFile(abs)).digest('hex')}`);
      else out.set(r, 'special');
    }
  };
  await visit(root, '');
  return out;
}

async function setTimes(p: string, iso: string): Promise<void> {
  const t = (Date.parse(iso) + 0.5) / 1000; // seconds; the half keeps the millisecond exact
  await fsp.lutimes(p, t, t);
}

describe('cold backup of a real mo-data folder', () => {
  it('keeps links, empty folders, modes and mtimes, follows a linked mo-data/shared, and names what it leaves out', async () => {
    // mo-data/shared lives on "another disk" and is a symbolic link
    const disk2 = path.join(work, 'disk2/shared');
    await fsp.mkdir(path.join(disk2, 'sub'), { recursive: true });
    await fsp.writeFile(path.join(disk2, 'obj-1'), pseudoRandom(1, 300_000));
    await fsp.writeFile(path.join(disk2, 'sub/obj-2'), pseudoRandom(2, 5000));
    await setTimes(path.join(disk2, 'sub/obj-2'), '2011-03-04T05:06:07.123Z');

    const data = path.join(work, 'mo-data');
    await fsp.mkdir(path.join(data, 'local/empty'), { recursive: true });
    await fsp.mkdir(path.join(data, 'local/ro'), { recursive: true });
    await fsp.mkdir(path.join(data, 'etc'), { recursive: true });
    await fsp.symlink(disk2, path.join(data, 'shared'));
    await fsp.writeFile(path.join(data, 'etc/tn.toml'), '[tn]\n');
    await fsp.chmod(path.join(data, 'etc/tn.toml'), 0o600);
    await fsp.writeFile(path.join(data, 'local/ro/f'), 'read only');
    await fsp.chmod(path.join(data, 'local/ro/f'), 0o640);
    await fsp.symlink('tn.toml', path.join(data, 'etc/cfg')); // inside
    await fsp.symlink('/etc/hostname', path.join(data, 'etc/abs')); // outside
    await fsp.symlink('../../elsewhere', path.join(data, 'etc/up')); // outside, relative, dangling
    expect(spawnSync('mkfifo', [path.join(data, 'local/pipe')]).status).toBe(0);
    await fsp.chmod(path.join(data, 'local/empty'), 0o750);
    await setTimes(path.join(data, 'local/ro/f'), '2010-01-02T03:04:05.678Z');
    await setTimes(path.join(data, 'etc/cfg'), '2009-09-09T09:09:09.009Z');
    await setTimes(path.join(data, 'local/empty'), '2001-01-01T00:00:00.500Z');
    await fsp.chmod(path.join(data, 'local/ro'), 0o555);
    await setTimes(path.join(data, 'local/ro'), '2002-02-02T02:02:02.200Z');

    // the repository and the catalog live inside the folder being backed up
    const repo = path.join(data, 'repo-inside');
    const meta = path.join(data, 'mo_br.meta');
    const BACKUP = ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta];
    const first = await mobr(BACKUP, work);
    expect(first.code, first.stderr).toBe(0);
    const b = await mobr(BACKUP, work);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('followed symbolic link shared -> ');
    expect(b.stdout).toContain('kept as symbolic links, not followed (they point outside the folder): 2: etc/abs -> /etc/hostname, etc/up -> ../../elsewhere');
    expect(b.stdout).toContain('skipped special files (fifo, socket, device): 1: local/pipe');
    expect(b.stdout).toContain('left out (the repository or meta file inside the folder): mo_br.meta, mo_br.meta.sha256, repo-inside');

    const list = JSON.parse((await mobr(['list', '--json', '--meta_path', meta], work)).stdout).backups as { id: string; size: number }[];
    expect(list[1].size, 'the followed shared folder is backed up').toBe(300_000 + 5000 + '[tn]\n'.length + 'read only'.length);

    const dest = path.join(work, 'restored');
    const r = await mobr(['restore', list[1].id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', dest], work);
    expect(r.code, r.stderr).toBe(0);
    const want = await describeTree(data, { follow: ['shared'], skip: ['repo-inside', 'mo_br.meta', 'mo_br.meta.sha256', 'local/pipe'] });
    const got = await describeTree(path.join(dest, 'mo-data'));
    expect(got).toEqual(want);
    expect(want.get('local/empty')).toBe(`dir 750 ${Date.parse('2001-01-01T00:00:00.500Z')}`);
    expect(want.get('local/ro')).toBe(`dir 555 ${Date.parse('2002-02-02T02:02:02.200Z')}`);
    expect(want.get('etc/cfg')).toBe(`link tn.toml ${Date.parse('2009-09-09T09:09:09.009Z')}`);
    expect(want.get('shared/sub/obj-2')).toMatch(new RegExp(`^file 644 ${Date.parse('2011-03-04T05:06:07.123Z')} `));
  }, 60_000);
});
