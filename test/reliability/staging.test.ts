/**
 * Disk full, permission errors and staging clean-up (spec/reliability.md §3).
 * - A file that fails to restore does not stop the others; every failure is named; no
 *   `.mobr-partial-` file is left and nothing is written after the command ends.
 * - Disk full (a real 16 MiB tmpfs; skipped when it cannot be mounted) during backup (cold and
 *   from the MatrixOne emulator: its staging folder is removed) and during
 *   restore: one-line error, exit 10, no temp objects or partial files, the catalog unchanged,
 *   earlier backups intact, and the next backup works once there is room.
 * - Permission errors (mo_br run as user nobody, since root ignores modes): unreadable source
 *   file, read-only repository, read-only restore path: one line, exit 4, nothing half-written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { Repository } from '../../src/repo/repository.js';
import { backupTree } from '../../src/backup/backup.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { isMobrError } from '../../src/errors.js';
import { startEmulator } from '../emulator/index.js';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { TINY, allPaths, backupIdOf, canMount, ensureBuilt, initTinyRepo, makeMoData, mobr as spawned, treeHashes } from './cli.js';
import { mobrIn } from '../helpers/cli.js';

/** mo_br in this process (mobrIn), or as a process of its own where the case needs one (another user). */
const mobr = (args: string[], cwd: string, o?: Parameters<typeof spawned>[2]) => (o ? spawned(args, cwd, o) : mobrIn(args, cwd));

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-staging-');
  await fsp.chmod(work, 0o755);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const leftovers = async (dir: string) => (await allPaths(dir)).filter((p) => /\.tmp-|mobr-partial/.test(p));

describe('a file that fails to restore does not stop the others', () => {
  it('restores every other file, names every failure, leaves no partial file and writes nothing after it returns', async () => {
    const src = path.join(work, 'lanes-src');
    await fsp.mkdir(src, { recursive: true });
    for (let i = 0; i < 6; i++) await fsp.writeFile(path.join(src, `f${i}`), pseudoRandom(i + 1, i === 0 ? 1000 : 3 * 1024 * 1024));
    const pool = new WorkerPool(2);
    try {
      const repo = await Repository.init(new FsStore(path.join(work, 'lanes-repo')), TINY);
      const m = await backupTree(repo, src, { id: 'b1', pool });
      // f0's and f3's chunks are ones the repository lacks: their lanes fail, the others go on.
      const lacking = new Set(['f0', 'f3']);
      const bad = { ...m, files: m.files.map((f) => (lacking.has(f.path) ? { ...f, chunks: new Uint8Array(32).fill(7) } : f)) };
      const dest = path.join(work, 'lanes-dest');
      const err = await restoreBackup(repo, bad, dest, { pool }).then(() => undefined, (e) => e);
      expect(isMobrError(err, 'NOT_FOUND'), String(err)).toBe(true);
      expect(String(err)).toMatch(/2 of 6 entries failed.*f0 .*; f3 \(/);
      const now = await allPaths(dest);
      expect(now).toEqual(['f1', 'f2', 'f4', 'f5']);
      await new Promise((r) => setTimeout(r, 400));
      expect(await allPaths(dest), 'restore kept writing after it failed').toEqual(now);
      for (const p of now) expect((await fsp.readFile(path.join(dest, p))).equals(await fsp.readFile(path.join(src, p)))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});


describe('disk full (16 MiB tmpfs)', () => {
  const mounts: string[] = [];
  const mountable = canMount();
  /** A fresh 16 MiB tmpfs. */
  const smallDisk = (name: string): string => {
    const dir = path.join(work, name);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  });

  it('backup: one line, exit 10, no temp objects, catalog unchanged, old backup intact, next backup works', async (t) => {
    if (!mountable) t.skip('needs root and a mountable tmpfs to fill a disk for real');
    const small = smallDisk('small-backup');
    const repo = path.join(small, 'repo');
    const meta = path.join(work, 'full.meta');
    const M = ['--meta_path', meta];
    const a = path.join(work, 'full-a');
    const b = path.join(work, 'full-b');
    await makeMoData(a, 2, 2 * 1024 * 1024, 1);
    await makeMoData(b, 5, 3 * 1024 * 1024, 2); // 15+ MiB of new data: does not fit beside a
    await initTinyRepo(repo);
    const first = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', a, ...M], work);
    expect(first.code, first.stderr).toBe(0);
    const id = backupIdOf(first.stdout)!;
    const catalog = await fsp.readFile(meta);
    const full = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', b, ...M], work);
    expect(full.code, full.stderr).toBe(10);
    expect(full.stderr).toMatch(/^mo_br: [^\n]*no space left on device[^\n]*\n$/);
    expect(await leftovers(repo)).toEqual([]);
    expect(await fsp.readdir(path.join(repo, 'backups'))).toEqual([id]);
    expect(await fsp.readFile(meta)).toEqual(catalog);
    const check = await mobr(['check', id, ...M], work);
    expect(check.code, check.stderr).toBe(0);
    // The user makes room (the failed backup's packs are in no index: only gc reclaims them); the same backup now works.
    execFileSync('mount', ['-o', 'remount,size=64m', small]);
    const c = b;
    const next = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', c, ...M], work);
    expect(next.code, next.stderr).toBe(0);
    const dest = path.join(work, 'full-restore');
    const r = await mobr(['restore', backupIdOf(next.stdout)!, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
    expect(r.code, r.stderr).toBe(0);
    expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(await treeHashes(c));
  });

  it('server backup into a full disk: one line, staging folder removed, nothing recorded', async (t) => {
    if (!mountable) t.skip('needs root and a mountable tmpfs to fill a disk for real');
    const small = smallDisk('small-server');
    const emu = await startEmulator({ home: path.join(work, 'emu-full'), objectSize: { min: 900_000, max: 1_000_000 } });
    try {
      await emu.simulateDay({ newObjects: 24 }); // ~24 MiB: MatrixOne's copy does not fit
      const repo = path.join(small, 'repo');
      await initTinyRepo(repo);
      const meta = path.join(work, 'server-full.meta');
      const r = await mobr(['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--backup_dir', 'filesystem', '--path', repo, '--meta_path', meta], work, { env: { MO_BR_PASSWORD: '111' } });
      expect(r.code, r.stderr).toBe(8); // the server's own failure (spec/reliability.md)
      expect(r.stderr).toMatch(/^mo_br: [^\n]*(space|ENOSPC)[^\n]*\n$/i);
      expect(await fsp.readdir(path.join(repo, 'staging')).catch(() => [])).toEqual([]);
      expect(await fsp.readdir(path.join(repo, 'backups')).catch(() => [])).toEqual([]);
      expect(await leftovers(repo)).toEqual([]);
      await expect(fsp.stat(meta)).rejects.toThrow();
    } finally {
      await emu.close();
    }
  });

  it('restore: one line, exit 10, no partial file, every file left under its name is right', async (t) => {
    if (!mountable) t.skip('needs root and a mountable tmpfs to fill a disk for real');
    const small = smallDisk('small-restore');
    const repo = path.join(work, 'big-repo');
    const meta = path.join(work, 'big.meta');
    const M = ['--meta_path', meta];
    const src = path.join(work, 'big-src');
    await makeMoData(src, 6, 4 * 1024 * 1024, 4); // 24+ MiB: does not fit in 16
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
    expect(b.code, b.stderr).toBe(0);
    const dest = path.join(small, 'restore');
    const r = await mobr(['restore', backupIdOf(b.stdout)!, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toMatch(/^mo_br: restore [^\n]*(ENOSPC|no space left)[^\n]*\n$/);
    expect(await leftovers(dest)).toEqual([]);
    const want = await treeHashes(src);
    for (const [p, h] of await treeHashes(path.join(dest, 'mo-data'))) expect(h, p).toBe(want.get(p));
  });
});

describe('permission errors (as user nobody)', () => {
  const NOBODY = 65534;
  const asNobody = (args: string[]) => mobr(args, work, { uid: NOBODY, gid: NOBODY });
  let src: string;
  let meta: string;
  beforeAll(async () => {
    src = path.join(work, 'perm-src');
    meta = path.join(work, 'perm-meta', 'mo_br.meta');
    await makeMoData(src, 3, 512 * 1024, 5);
    await fsp.mkdir(path.dirname(meta));
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, src, path.dirname(meta)]);
  });

  it('an unreadable source file: one line, exit 4, no manifest, no temp objects, catalog untouched', async (t) => {
    if (process.getuid?.() !== 0) t.skip('needs root to run mo_br as user nobody against files it owns');
    const repo = path.join(work, 'perm-repo1');
    await fsp.mkdir(repo);
    execFileSync('chown', [`${NOBODY}:${NOBODY}`, repo]);
    const secret = path.join(src, 'shared', 'obj-1');
    await fsp.chmod(secret, 0o000);
    try {
      const r = await asNobody(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, '--meta_path', meta]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/^mo_br: [^\n]*obj-1[^\n]*permission denied[^\n]*\n$/i);
      expect(await fsp.readdir(path.join(repo, 'backups')).catch(() => [])).toEqual([]);
      expect(await leftovers(repo)).toEqual([]);
      await expect(fsp.stat(meta)).rejects.toThrow();
    } finally {
      await fsp.chmod(secret, 0o644);
    }
  });

  it('a read-only repository: one line, exit 4, nothing written', async (t) => {
    if (process.getuid?.() !== 0) t.skip('needs root to run mo_br as user nobody against files it owns');
    const repo = path.join(work, 'perm-repo2');
    await initTinyRepo(repo); // owned by root, mode 755: nobody cannot write
    const r = await asNobody(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, '--meta_path', meta]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^mo_br: [^\n]*permission denied[^\n]*\n$/);
    expect(await leftovers(repo)).toEqual([]);
    expect(await fsp.readdir(repo)).toEqual(['config']);
  });

  it('a read-only restore path: one line, exit 4, nothing created', async (t) => {
    if (process.getuid?.() !== 0) t.skip('needs root to run mo_br as user nobody against files it owns');
    const repo = path.join(work, 'perm-repo3');
    await fsp.mkdir(repo);
    execFileSync('chown', [`${NOBODY}:${NOBODY}`, repo]);
    const b = await asNobody(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, '--meta_path', meta]);
    expect(b.code, b.stderr).toBe(0);
    const dest = path.join(work, 'perm-dest');
    await fsp.mkdir(dest, { mode: 0o755 });
    const r = await asNobody(['restore', backupIdOf(b.stdout)!, '--restore_dir', 'filesystem', '--restore_path', dest, '--meta_path', meta]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^mo_br: [^\n]*permission denied[^\n]*\n$/);
    expect(await allPaths(dest)).toEqual([]);
  });
});
