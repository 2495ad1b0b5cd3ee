/**
 * A MatrixOne server backup in shares into an encrypted repository, and its export, through ./mo_br
 * against the EMULATOR (issue #23 "… export, … shares work on encrypted repositories"): the
 * coordinator's plan is sealed (no file name of the server's in it); an ingester without the
 * password stops in one line, exit 4, before touching anything; with it the shares complete; the
 * backup checks, restores byte-exact and exports. Key files use the cheap test KDF.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fsp, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ensureBuilt, mobr, ROOT, type Run } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { sql } from './helpers/mo-target.js';
import { until } from './helpers/until.js';

const ENV = { MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: 'shares-pw' };

let work: string;
let emu: Emulator;
beforeAll(async () => {
  ensureBuilt();
  work = await fsp.mkdtemp(path.join(tmpdir(), 'mobr-enc-shares-'));
  emu = await startEmulator({ home: path.join(work, 'mo'), objectSize: { min: 30_000, max: 60_000 } });
  await sql(emu, 'create database enc_db');
  await sql(emu, 'create table enc_db.t (a int)');
  await sql(emu, 'insert into enc_db.t values (1), (2)');
  await emu.simulateDay({ newObjects: 6 });
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await fsp.rm(work, { recursive: true, force: true });
});

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : []);

/** Every object the server holds is, byte for byte, the one under `dir`/mo-data/shared. */
function sameObjects(dir: string): number {
  const live = path.join(work, 'mo', 'mo-data', 'shared');
  let n = 0;
  for (const e of readdirSync(live, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    const name = e.name;
    const got = path.join(dir, 'mo-data', 'shared', name);
    if (!existsSync(got)) continue;
    expect(readFileSync(got).equals(readFileSync(path.join(live, name))), name).toBe(true);
    n++;
  }
  return n;
}

describe('encrypted repository: a server backup in shares, and export', () => {
  it('sealed plan; an ingester without the password is exit 4; with it the backup completes, checks, restores and exports', async () => {
    const repo = path.join(work, 'repo');
    const meta = ['--meta_path', path.join(work, 'm.meta')];
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
    let child!: ChildProcess;
    let out = '';
    const log = path.join(work, 'coordinator.log');
    const coord: Promise<Run> = mobr(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--log_file', log, '--log_level', 'info', ...meta], ROOT, { env: ENV, killAfterMs: 90_000, onSpawn: (p) => (child = p) });
    child.stdout!.on('data', (d) => (out += d));
    await until(() => / --join .*\n/.test(out) && files(path.join(repo, 'plans')).length === 1, 40_000, 'the coordinator to write its plan');
    const join = /^ {4}mo_br (backup --join .*?)\s+# .*$/m.exec(out)![1]!.split(/\s+/);

    // the plan is sealed: its magic, and none of the server's file names
    const plan = readFileSync(files(path.join(repo, 'plans'))[0]!);
    expect(plan.subarray(0, 4).toString('latin1')).toBe('MOBS');
    // (names long enough that ciphertext never holds one by chance)
    const names = readdirSync(path.join(work, 'mo', 'mo-data', 'shared')).filter((n) => n.length >= 16);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => plan.includes(Buffer.from(n)))).toEqual([]);
    expect(plan.includes(Buffer.from('mo_meta'))).toBe(false);

    // once the coordinator stored its own share and only waits, nothing else writes packs
    await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('msg="waiting for shares"'), 40_000, 'the coordinator to wait for share 1');
    const dataBefore = files(path.join(repo, 'data')).length;
    const refused = await mobr([...join, ...meta], ROOT, { env: { ...ENV, MO_BR_REPO_PASSWORD: undefined } });
    expect([refused.code, refused.stdout]).toEqual([4, '']);
    expect(refused.stderr).toMatch(/^mo_br: filesystem \S+ is encrypted: give its password in MO_BR_REPO_PASSWORD[^\n]*\n$/);
    expect(files(path.join(repo, 'data')).length).toBe(dataBefore);
    expect(files(path.join(repo, 'parts'))).toEqual([]);

    const ingester = await mobr([...join, ...meta], ROOT, { env: ENV, killAfterMs: 90_000 });
    expect([ingester.code, ingester.stderr]).toEqual([0, '']);
    const c = await coord;
    expect([c.code, c.stderr]).toEqual([0, '']);
    const id = /Backup ID\n {4}(\S+)\n/.exec(c.stdout)![1]!;
    for (const d of ['plans', 'parts', 'staging']) expect(files(path.join(repo, d)), d).toEqual([]);

    const restored = path.join(work, 'restored');
    const exported = path.join(work, 'exported');
    const [check, restore, exp] = await Promise.all([
      mobr(['check', id, ...meta], ROOT, { env: ENV }),
      mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', restored, ...meta], ROOT, { env: ENV }),
      mobr(['export', id, '--path', exported, '--raw', ...meta], ROOT, { env: ENV }),
    ]);
    for (const r of [check, restore, exp]) expect([r.code, r.stderr]).toEqual([0, '']);
    expect(sameObjects(restored)).toBeGreaterThanOrEqual(6);
    expect(exp.stdout).toMatch(/export file num: [1-9]\d*, framing: raw/);
    // the exported folder is MatrixOne's layout, readable without mobr's key: check it as a backup folder
    const again = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', exported, '--meta_path', path.join(work, 'none.meta')], ROOT, { env: { ...ENV, MO_BR_REPO_PASSWORD: undefined } });
    expect([again.code, again.stderr]).toEqual([0, '']);
  }, 100_000);
});
