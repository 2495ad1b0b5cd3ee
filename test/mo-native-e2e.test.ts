/**
 * Native folders end to end against the emulator (written from MatrixOne's source, no src/):
 * the server's own BACKUP into a folder is checked and restored by ./mo_br, and a mobr backup
 * exported with `mo_br export` restores the same way; after each, the emulator restarts on the
 * restored tree (every file read through its backend, hk_data where its log service reads it)
 * and the rows are back. DISK (framed) and DISK-V2 (raw, shared2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Backend } from './emulator/index.js';
import { ensureBuilt, mobr, ROOT } from './helpers/cli.js';
import { sql } from './helpers/mo-target.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(path.join(tmpdir(), 'mobr-native-e2e-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const objectSize = { min: 1500, max: 3000 };

async function restartAndCount(home: string): Promise<void> {
  const emu = await startEmulator({ home, objectSize });
  try {
    expect(emu.hakeeper.restored, 'hk_data where the log service reads it').toBe(true);
    expect(await sql(emu, 'select count(*) from db1.t')).toEqual([{ 'count(*)': 3 }]);
  } finally {
    await emu.close();
  }
}

describe.each(['DISK', 'DISK-V2'] as Backend[])('%s cluster', (backend) => {
  it("the server's own BACKUP folder: check, restore, restart; a mobr backup exported: restore, restart", { timeout: 60_000 }, async () => {
    const base = path.join(work, backend);
    const home = path.join(base, 'mo');
    const folder = path.join(base, 'server-backup');
    const meta = ['--meta_path', path.join(base, 'mo_br.meta')];
    let emu = await startEmulator({ home, backend, objectSize });
    let id: string;
    try {
      await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1), (2), (3)');
      await sql(emu, `backup '0' filesystem '${folder}' parallelism '1'`);
      const b = await mobr(['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', path.join(base, 'repo'), ...meta], ROOT);
      expect(b.code, b.stderr).toBe(0);
      id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1]!;
      await sql(emu, 'drop database db1');
    } finally {
      await emu.close();
    }

    const c = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', folder, ...meta], ROOT);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const lines = c.stdout.split('\n').filter(Boolean);
    expect(lines.slice(0, 4)).toEqual(['check: /mo_meta', 'check: hakeeper/hk_data', 'check: tae/tae_list', 'check: tae/tae_sum']);
    expect(lines[4]).toMatch(/^check: config\//);

    await rm(path.join(home, 'mo-data'), { recursive: true, force: true });
    const r = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', folder, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`TaePath\n    ./mo-data/${backend === 'DISK' ? 'shared' : 'shared2'}\n`);
    await restartAndCount(home);

    const exported = path.join(base, 'exported');
    const e = await mobr(['export', id!, '--path', exported, ...(backend === 'DISK-V2' ? ['--raw'] : []), ...meta], ROOT);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    emu = await startEmulator({ home, objectSize });
    await sql(emu, 'drop database db1');
    await emu.close();
    await rm(path.join(home, 'mo-data'), { recursive: true, force: true });
    const r2 = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', exported, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);
    await restartAndCount(home);
  });
});
