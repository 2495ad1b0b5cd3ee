/**
 * mo_br ends well when stopped or when nobody reads its output:
 * - SIGINT / SIGTERM really sent mid-backup, mid-restore and mid-sync: exit 130 / 143, one line,
 *   no temp file, no manifest or half-written file under a real name, no lock left, nothing
 *   recorded; the repository checks and the next run works;
 * - `mo_br list | true` (stdout closed): no stack trace, exit 0;
 * - `--meta_path` naming a fifo, or in a folder that does not exist: one line, exit 2, at once,
 *   before anything is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { tempDir } from './helpers/tree.js';
import { MO_BR, ensureBuilt, mobr, mobrIn } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo, makeMoData, treeHashes } from './reliability/cli.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { until } from './helpers/until.js';

let work: string;
let data: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-signals-');
  data = path.join(work, 'mo-data');
  await makeMoData(data, 4, 2 * 1024 * 1024);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});


const files = async (dir: string) => (await allPaths(dir)).filter((p) => !p.endsWith('/') && !/^(data|index|backups|locks|staging)(\/[0-9a-f]{2})?$/.test(p));
const leftovers = async (dir: string) => (await allPaths(dir)).filter((p) => /\.tmp-|mobr-partial|\.lock$/.test(p));

describe('SIGINT and SIGTERM', () => {
  it('SIGINT mid-backup: exit 130, one line, no manifest, temp file, lock or record; the repository checks and the next backup works', async () => {
    const repo = path.join(work, 'repo');
    const meta = path.join(work, 'mo_br.meta');
    await initTinyRepo(repo);
    const BACKUP = ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta];
    let child: ChildProcess | undefined;
    const run = mobr(BACKUP, work, { onSpawn: (p) => (child = p) });
    // landed mid-way: packs are being written, no manifest yet
    await until(async () => (await files(path.join(repo, 'data'))).length >= 2, 60_000, 'packs');
    expect(await allPaths(path.join(repo, 'backups'))).toEqual([]);
    child!.kill('SIGINT');
    const r = await run;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^mo_br: [^\n]*interrupted \(SIGINT\)[^\n]*\n$/);
    expect(await allPaths(path.join(repo, 'backups'))).toEqual([]);
    expect(await allPaths(path.join(repo, 'locks'))).toEqual([]);
    expect(await leftovers(repo)).toEqual([]);
    expect(await leftovers(work)).toEqual([]);
    expect(await fsp.stat(meta).then(() => true, () => false), 'nothing recorded').toBe(false);
    // the packs it had stored are indexed, so the next backup reuses them (no orphans for gc)
    const stored = (await allPaths(path.join(repo, 'data'))).map((p) => path.basename(p)).filter((n) => /^[0-9a-f]{64}$/.test(n));
    const indexed = await Repository.open(new FsStore(repo));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((id) => !indexed.index.packs.has(id)), 'packs left unindexed').toEqual([]);
    const again = await mobrIn(BACKUP, work);
    expect(again.code, again.stderr).toBe(0);
    const check = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo], work);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 120_000);

  it('SIGTERM mid-restore: exit 143, one line, no partial file, every file under its name right, the target unlocked', async () => {
    const meta = path.join(work, 'mo_br.meta');
    const id = JSON.parse((await mobrIn(['list', '--json', '--meta_path', meta], work)).stdout).backups[0].id as string;
    const dest = path.join(work, 'restore-term');
    let child: ChildProcess | undefined;
    const run = mobr(['restore', id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', dest], work, { onSpawn: (p) => (child = p) });
    // landed mid-way: a file is being written
    await until(async () => (await allPaths(dest)).some((p) => p.includes('mobr-partial')), 60_000, 'a file being restored');
    child!.kill('SIGTERM');
    const r = await run;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/^mo_br: [^\n]*interrupted \(SIGTERM\)[^\n]*\n$/);
    expect(await leftovers(dest)).toEqual([]);
    const want = await treeHashes(data);
    const got = await treeHashes(path.join(dest, 'mo-data'));
    expect(got.size, 'it stopped before the end').toBeLessThan(want.size);
    for (const [p, h] of got) expect(h, p).toBe(want.get(p));
  }, 120_000);

  it('SIGTERM mid-sync: exit 143, one line, no temp file or lock in either repository; the next sync completes', async () => {
    const repo = path.join(work, 'repo');
    const mirror = path.join(work, 'mirror');
    const SYNC = ['sync', '--backup_dir', 'filesystem', '--backup_path', repo, '--target_dir', 'filesystem', '--target_path', mirror];
    let child: ChildProcess | undefined;
    const run = mobr(SYNC, work, { onSpawn: (p) => (child = p) });
    await until(async () => (await files(path.join(mirror, 'data'))).length >= 1, 60_000, 'packs copied');
    child!.kill('SIGTERM');
    const r = await run;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/^mo_br: [^\n]*\n$/);
    expect(await allPaths(path.join(mirror, 'backups'))).toEqual([]);
    for (const d of [repo, mirror]) {
      expect(await leftovers(d)).toEqual([]);
      expect(await allPaths(path.join(d, 'locks'))).toEqual([]);
    }
    const again = await mobrIn(SYNC, work);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});

describe('output and meta path', () => {
  it('a closed stdout (mo_br list | true) ends quietly with exit 0', async () => {
    const meta = path.join(work, 'mo_br.meta');
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MO_BR}" list --meta_path "${meta}" | true; echo "exit=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('exit=0\n');
  });

  it('a fifo as --meta_path is refused at once in one line', async () => {
    const fifo = path.join(work, 'meta-fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const args of [['list'], ['backup', '--backup_dir', 'filesystem', '--path', path.join(work, 'repo-fifo'), '--data_dir', data]]) {
      const r = await mobr([...args, '--meta_path', fifo], work, { killAfterMs: 15_000 });
      expect(r.signal, `${args[0]} blocked`).toBeNull();
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^mo_br: meta path .*meta-fifo is not a regular file[^\n]*\n$/);
    }
    expect(await fsp.stat(path.join(work, 'repo-fifo')).then(() => true, () => false), 'nothing created').toBe(false);
  }, 60_000);

  it('a --meta_path in a folder that does not exist fails before the backup is stored', async () => {
    const repo = path.join(work, 'repo-nometa');
    const r = await mobrIn(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', path.join(work, 'no/such/folder/mo_br.meta')], work);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: meta path .*: the folder .*no\/such\/folder does not exist\n$/);
    expect(await allPaths(path.join(repo, 'backups')), 'no backup stored').toEqual([]);
    expect(backupIdOf(r.stdout)).toBeUndefined();
  }, 60_000);
});
