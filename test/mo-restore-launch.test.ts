/**
 * Restore placement from the launch config the backup carries, and what restore, check, list,
 * export and ls show of a server backup (issue #20 item 4), through ./mo_br against the emulator:
 *  - the cluster's launch.toml names ./etc/other/tn.toml (DISK at mo-data/shared) and two cn.toml
 *    (./etc/launch/cn.toml, ./etc/cn2/cn.toml); the restore folder holds a stale shipped
 *    etc/launch/tn.toml (DISK-V2 at shared2): the objects follow the backup's config, one warning
 *    line names the folder's, every config goes back to its own place, and the emulator restarted
 *    on the folder has the rows; --dn_config_path follows the folder's config instead.
 *  - check <ID> / list <ID> print mo_br's order: /mo_meta, hakeeper/hk_data, tae/tae_list,
 *    tae/tae_sum, config/…, then the objects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobr, ROOT } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { launchFiles } from './emulator/cluster.js';
import { sql } from './helpers/mo-target.js';

const mo = (args: string[]) => mobr(args, ROOT);


const LAUNCH = 'logservices = ["./etc/launch/log.toml"]\ntnservices = ["./etc/other/tn.toml"]\ncnservices = ["./etc/launch/cn.toml", "./etc/cn2/cn.toml"]\n';
const TN = 'service-type = "TN"\ndata-dir = "./mo-data"\n\n[tn]\nuuid = "dd4dccb4-4d3c-41f8-b482-5251dc7a41bf"\n';
const CN1 = 'service-type = "CN"\n# the first CN\n';
const CN2 = 'service-type = "CN"\n# the second CN\n';

let work: string;
let id: string;
let meta: string[];
beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-launch-'));
  const home = path.join(work, 'mo');
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(home, rel)), { recursive: true });
    writeFileSync(path.join(home, rel), text);
  };
  put('etc/launch/launch.toml', LAUNCH);
  put('etc/other/tn.toml', TN);
  put('etc/launch/cn.toml', CN1);
  put('etc/cn2/cn.toml', CN2);
  meta = ['--meta_path', path.join(work, 'mo_br.meta')];
  const emu = await startEmulator({ home, objectSize: { min: 3000, max: 6000 } });
  try {
    await sql(emu, 'create database db1');
    await sql(emu, 'create table db1.t (a int)');
    await sql(emu, 'insert into db1.t values (1), (2), (3)');
    const b = await mo(['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', path.join(work, 'repo'), ...meta]);
    expect(b.code, b.stderr).toBe(0);
    id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1];
  } finally {
    await emu.close();
  }
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A restore folder holding the v4.2+ shipped etc/launch/tn.toml (DISK-V2 at ./mo-data/shared2). */
function staleFolder(name: string): string {
  const dest = path.join(work, name);
  mkdirSync(path.join(dest, 'etc', 'launch'), { recursive: true });
  writeFileSync(path.join(dest, 'etc', 'launch', 'tn.toml'), launchFiles('DISK-V2', 'shipped')['tn.toml']);
  return dest;
}

describe('restore follows the launch config the backup carries', () => {
  it('objects where the backup\'s tn.toml puts them, one warning for the stale folder config, every config at its place; the cluster restarts with the rows', async () => {
    const dest = staleFolder('r1');
    const r = await mo(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...meta]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('TaePath\n    ./mo-data/shared\n');
    const warn = r.stderr.trimEnd().split('\n');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(/^mo_br: warning: etc\/launch\/tn\.toml in the restore path puts SHARED at \.\/mo-data\/shared2 \(DISK-V2\), the backup's config\/tn\.toml_\S+ \(etc\/other\/tn\.toml\) at \.\/mo-data\/shared \(DISK\): restoring for the backup's; give --dn_config_path \S+etc\/launch\/tn\.toml to restore for the folder's$/);
    expect(readFileSync(path.join(dest, 'etc/other/tn.toml'), 'utf8')).toBe(TN);
    expect(readFileSync(path.join(dest, 'etc/launch/cn.toml'), 'utf8')).toBe(CN1);
    expect(readFileSync(path.join(dest, 'etc/cn2/cn.toml'), 'utf8')).toBe(CN2);
    expect(readFileSync(path.join(dest, 'etc/launch/launch.toml'), 'utf8')).toBe(LAUNCH);
    expect(readFileSync(path.join(dest, 'etc/launch/tn.toml'), 'utf8')).toBe(launchFiles('DISK-V2', 'shipped')['tn.toml']); // never overwritten
    expect(existsSync(path.join(dest, 'mo-data', 'shared2'))).toBe(false);
    const emu = await startEmulator({ home: dest });
    try {
      expect((await sql(emu, 'select count(*) from db1.t')).map((r) => Object.values(r as object)[0])).toEqual([3]);
    } finally {
      await emu.close();
    }
  }, 120_000);

  it('--dn_config_path naming the folder\'s config is followed, without a warning', async () => {
    const dest = staleFolder('r2');
    const r = await mo(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, '--dn_config_path', path.join(dest, 'etc/launch/tn.toml'), ...meta]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('TaePath\n    ./mo-data/shared2\n');
    expect(readdirSync(path.join(dest, 'mo-data', 'shared2')).length).toBeGreaterThan(0);
  }, 120_000);
});

describe("check and list of a repository backup: mo_br's order", () => {
  it('/mo_meta, hakeeper/hk_data, tae/tae_list, tae/tae_sum, config/… by name, then the objects by path', async () => {
    for (const cmd of ['check', 'list']) {
      const r = await mo([cmd, id, ...meta]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('check: ')).map((l) => l.slice(7));
      expect(lines.slice(0, 4)).toEqual(['/mo_meta', 'hakeeper/hk_data', 'tae/tae_list', 'tae/tae_sum']);
      const configs = lines.slice(4, 9);
      expect(configs.map((c) => c.replace(/_[0-9a-f-]{36}$/, '')).sort()).toEqual(['config/cn.toml', 'config/cn.toml', 'config/launch.toml', 'config/log.toml', 'config/tn.toml']);
      expect(configs).toEqual([...configs].sort());
      const rest = lines.slice(9);
      expect(rest.length).toBeGreaterThan(0);
      expect(rest.every((l) => l.startsWith('tae/'))).toBe(true);
      expect(rest).toEqual([...rest].sort());
    }
  }, 120_000);
});

/** A backup through ./mo_br of a fresh emulator started with these options. */
async function backupOf(name: string, o: { serverVersion?: string; backend?: 'DISK' | 'DISK-V2' }): Promise<string> {
  const emu = await startEmulator({ home: path.join(work, name), objectSize: { min: 3000, max: 6000 }, ...o });
  try {
    await sql(emu, 'create database db1');
    const b = await mo(['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', path.join(work, `${name}-repo`), ...meta]);
    expect(b.code, b.stderr).toBe(0);
    return /Backup ID\n {4}(\S+)/.exec(b.stdout)![1];
  } finally {
    await emu.close();
  }
}

describe('export and ls of what older and raw clusters wrote', () => {
  it('export of a DISK-V2 cluster\'s backup writes raw files (the framing the manifest recorded) unless told otherwise', async () => {
    const raw = await backupOf('v2', { backend: 'DISK-V2' });
    const out = path.join(work, 'export-v2');
    const r = await mo(['export', raw, '--path', out, ...meta]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('framing: raw (DISK-V2 or S3)');
    // a raw sidecar is the 32-byte SHA-256; LocalFS framing would make it 36
    expect(readFileSync(path.join(out, 'tae', 'tae_list.sha256')).length).toBe(32);
    const check = await mo(['check', '--backup_dir', 'filesystem', '--backup_path', out]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 120_000);

  it('ls --long shows the checksum of a v1.1 tae_list row (three columns, no TS)', async () => {
    const old = await backupOf('v112', { serverVersion: '1.1.2' });
    const r = await mo(['ls', old, 'tae', '--long', ...meta]);
    expect(r.code, r.stderr).toBe(0);
    const objects = r.stdout.split('\n').filter((l) => /tae\/\S+_\d{5}$/.test(l));
    expect(objects.length).toBeGreaterThan(0);
    for (const l of objects) expect(l).toMatch(/^-\S+ +\d+ +\S+Z +([0-9a-f]{64}|-) +true +- +tae\/\S+$/);
    // rows the server wrote a SHA-256 for show it (rewritten and checksumless rows show '-')
    expect(objects.filter((l) => / [0-9a-f]{64} /.test(l)).length).toBeGreaterThan(objects.length / 2);
  }, 120_000);
});
