/**
 * The seed's two worked examples through ./mo_br against the MatrixOne EMULATOR
 * (test/emulator; MatrixOne itself cannot run here): full backup, drop a database, restore,
 * restart, the dropped database is back; then full + incremental with rows inserted between.
 * Plus the server-side bad inputs: wrong password and an unreachable server write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobr, ROOT } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { sql } from './helpers/mo-target.js';

const mo = (args: string[]) => mobr(args, ROOT);


const databases = async (emu: Emulator) => (await sql(emu, 'show databases')).map((r) => Object.values(r)[0] as string);

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-mo-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mo_br against a running MatrixOne (emulator)', () => {
  it('example 1 and 2: full, incremental, drop, restore, restart: the dropped database and its rows are back', async () => {
    const home = path.join(work, 'mo');
    const repo = path.join(work, 'backups');
    const meta = ['--meta_path', path.join(work, 'mo_br.meta')];
    let emu = await startEmulator({ home });
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
    await sql(emu, 'create database db1');
    await sql(emu, 'create database db2');
    await sql(emu, 'create table db1.t (a int)');
    await sql(emu, 'insert into db1.t values (1), (2)');

    const full = await mo(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, ...meta]);
    expect(full.stderr).toBe('');
    expect(full.code).toBe(0);
    const fullId = /Backup ID\n {4}(\S+)/.exec(full.stdout)![1];

    await sql(emu, 'insert into db1.t values (3)');
    const inc = await mo(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, '--backup_type', 'incremental', '--base_id', fullId, ...meta]);
    expect(inc.code).toBe(0);
    const incId = /Backup ID\n {4}(\S+)/.exec(inc.stdout)![1];

    const list = await mo(['list', ...meta]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/\| +BACKUPTS +\| BACKUPTYPE +\|/);
    expect(list.stdout).toMatch(new RegExp(`${fullId} .*\\| +\\d{19}-\\d+ +\\| +full +\\|`));
    expect(list.stdout).toMatch(new RegExp(`${incId} .*\\| +\\d{19}-\\d+ +\\| incremental \\|`));
    // staging is gone once the backups are recorded
    expect(readdirSync(repo).sort()).not.toContain('staging');

    const check = await mo(['check', incId, ...meta]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('check: tae/tae_list');

    await sql(emu, 'drop database db1');
    await sql(emu, 'create database db3');
    await emu.close();
    rmSync(path.join(home, 'mo-data'), { recursive: true, force: true });

    const restore = await mo(['restore', incId, '--restore_dir', 'filesystem', '--restore_path', home, ...meta]);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain('TaePath\n    ./mo-data/shared\n');
    expect(restore.stdout).toMatch(/Copy tae file \d+\n {4}\S+_00000 => mo-data\/shared\/\S+_00000/);

    emu = await startEmulator({ home });
    try {
      const dbs = await databases(emu);
      expect(dbs).toContain('db1');
      expect(dbs).toContain('db2');
      expect(dbs).not.toContain('db3');
      expect(Object.values((await sql(emu, 'select count(*) from db1.t'))[0])[0]).toBe(3);
    } finally {
      await emu.close();
    }
  });

  it('a server that is not MatrixOne, or a user without the backup privilege: one line, nothing written', async () => {
    const mysqlLike = await startEmulator({ home: path.join(work, 'mysql'), versionString: '8.0.36' });
    const restricted = await startEmulator({ home: path.join(work, 'mo3'), users: [{ user: 'reader', password: 'pw', canBackup: false }] });
    try {
      const repo = path.join(work, 'never2');
      const meta = path.join(work, 'never2.meta');
      const notMo = await mobr(['backup', '--host', mysqlLike.host, '--port', String(mysqlLike.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', repo, '--meta_path', meta], ROOT);
      expect(notMo.code).toBe(5);
      expect(notMo.stderr).toMatch(/^mo_br: the server at 127\.0\.0\.1:\d+ is not MatrixOne/);
      expect(notMo.stderr.trim().split('\n')).toHaveLength(1);
      const noPriv = await mobr(['backup', '--host', restricted.host, '--port', String(restricted.port), '--user', 'reader', '--password', 'pw', '--backup_dir', 'filesystem', '--path', repo, '--meta_path', meta], ROOT);
      expect(noPriv.code).toBe(4);
      expect(noPriv.stderr).toMatch(/privilege/);
      expect(noPriv.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(meta) && statSync(meta).size > 0).toBe(false);
      // the repository may exist (the login succeeded) but holds no backup and no staging copy
      expect(existsSync(path.join(repo, 'backups')) && readdirSync(path.join(repo, 'backups')).length > 0).toBe(false);
      expect(existsSync(path.join(repo, 'staging')) && readdirSync(path.join(repo, 'staging')).length > 0).toBe(false);
    } finally {
      await mysqlLike.close();
      await restricted.close();
    }
  });

  it('a wrong password or an unreachable server: one line, exit code, and nothing written', async () => {
    const home = path.join(work, 'mo2');
    const emu = await startEmulator({ home });
    try {
      const repo = path.join(work, 'never');
      const meta = path.join(work, 'never.meta');
      const wrong = await mo(['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', 'not-the-password', '--backup_dir', 'filesystem', '--path', repo, '--meta_path', meta]);
      expect(wrong.code).toBe(4);
      expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
      expect(wrong.stderr).not.toContain('not-the-password');
      const down = await mo(['backup', '--host', '127.0.0.1', '--port', '1', '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', repo, '--meta_path', meta]);
      expect(down.code).toBe(5);
      expect(down.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(repo)).toBe(false);
      expect(existsSync(meta) && statSync(meta).size > 0).toBe(false);
    } finally {
      await emu.close();
    }
  });
});
