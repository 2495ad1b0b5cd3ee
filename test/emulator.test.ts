/**
 * The MatrixOne emulator on its own terms (no mobr code involved): MySQL protocol and errors,
 * the BACKUP grammar of each server version, churn, and a restart that reads its files through
 * the configured backend as MatrixOne does: raw bytes in a DISK folder, framed bytes in a
 * DISK-V2 folder and a misframed hk_data stop it; a missing or misplaced hk_data is ignored
 * (as MatrixOne ignores it) but shows in `hakeeper.restored`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startEmulator, SYSTEM_DATABASES, type Emulator, type EmulatorOptions } from './emulator/index.js';
import { sql, target, unframeNative } from './helpers/mo-target.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-emu-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}
const REAL: Partial<EmulatorOptions> = { backend: 'DISK', layout: 'shipped', checksumless: true };
async function start(home: string, o: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emu = await startEmulator({ home, objectSize: { min: 3000, max: 6000 }, ...REAL, ...o });
  cleanups.push(() => emu.close());
  return emu;
}
const dbs = async (emu: Emulator) => (await sql(emu, 'show databases')).map((r) => Object.values(r)[0] as string);
const err = (p: Promise<unknown>) => p.then(() => ({ errno: 0, message: 'no error' }), (e: { errno: number; message: string }) => e);

describe('MatrixOne emulator: SQL', () => {
  it('auth, databases, rows, and MatrixOne error codes', async () => {
    const emu = await start(await tmp(), { users: [{ user: 'reader', password: 'r', canBackup: false }] });
    expect((await err(mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: 'x' }))).errno).toBe(1045);
    expect(await sql(emu, 'select version()')).toEqual([{ 'version()': '8.0.30-MatrixOne-v1.2.0' }]);
    await sql(emu, 'create database db1', 'create database db2', 'create table db1.t (id int primary key, name varchar(20))');
    await sql(emu, "insert into db1.t values (1, 'a'), (2, 'it''s')", 'insert into db1.t (id, name) values (3, NULL)');
    expect(await sql(emu, 'select count(*) from db1.t')).toEqual([{ 'count(*)': 3 }]);
    expect(await dbs(emu)).toEqual(['db1', 'db2', ...SYSTEM_DATABASES].sort());
    await sql(emu, 'drop database db1');
    expect(await dbs(emu)).not.toContain('db1');
    expect((await err(sql(emu, 'create database db2'))).errno).toBe(1007);
    const c = await mysql.createConnection({ host: emu.host, port: emu.port, user: 'reader', password: 'r' });
    cleanups.push(() => c.end());
    const denied = await err(c.query(`backup '' filesystem '${await tmp()}/x' parallelism '1'`));
    expect(denied).toMatchObject({ errno: 20101, message: 'internal error: do not have privilege to execute the statement' });
  });

  it('the BACKUP grammar of each version: v1.1.0 has no PARALLELISM, v1.1.2 requires it, v1.2.0 adds TYPE and TIMESTAMP', async () => {
    const root = await tmp();
    const syntax = /^SQL parser error: You have an error in your SQL syntax; check the manual that corresponds to your MatrixOne server version for the right syntax to use\. syntax error at line 1 column \d+ near "/;
    const cases: [string, string, boolean][] = [
      ['1.1.0', `backup '' filesystem '${root}/a1'`, true],
      ['1.1.0', `backup '' filesystem '${root}/a2' parallelism '1'`, false],
      ['1.1.2', `backup '' filesystem '${root}/b1' parallelism '1'`, true],
      ['1.1.2', `backup '' filesystem '${root}/b2'`, false],
      ['1.1.2', `backup '' filesystem '${root}/b3' parallelism '1' type 'incremental' timestamp '1-1'`, false],
      ['1.2.0', `backup '' filesystem '${root}/c1' parallelism '1' type 'incremental' timestamp '1-1'`, true],
      ['1.2.0', `backup '' filesystem '${root}/c2'`, false],
    ];
    for (const version of ['1.1.0', '1.1.2', '1.2.0']) {
      const emu = await start(await tmp(), { serverVersion: version });
      expect(await sql(emu, 'select version()')).toEqual([{ 'version()': `8.0.30-MatrixOne-v${version}` }]);
      for (const [v, stmt, ok] of cases.filter((c) => c[0] === version)) {
        const e = await err(sql(emu, stmt));
        if (ok) expect([stmt, e.errno]).toEqual([stmt, 0]);
        else {
          expect([stmt, e.errno]).toEqual([stmt, 1064]);
          expect(e.message).toMatch(syntax);
        }
        void v;
      }
      await emu.close();
    }
    const e = await err(sql(await start(await tmp(), { serverVersion: '1.1.0' }), `backup '' filesystem '${root}/d' parallelism '4'`));
    expect(e.message).toMatch(/column \d+ near "parallelism '4'";$/);
  });

  it('churn: merges soft-delete objects and write _00000/_00001 of one segment; GC removes them and leaves one global checkpoint', async () => {
    const emu = await start(await tmp());
    await emu.simulateDay({ newObjects: 5 });
    await emu.simulateDay({ newObjects: 2, mergeCount: 4 });
    const dropped = emu.tree.entries.filter((e) => e.dropTS).map((e) => e.name);
    expect(dropped.length).toBe(4);
    expect(emu.tree.live.some((e) => e.name.endsWith('_00001'))).toBe(true);
    await emu.simulateDay({ newObjects: 0, gc: true });
    const files = await readdir(emu.tree.shared);
    for (const d of dropped) expect(files).not.toContain(d);
    const ckp = await readdir(join(emu.tree.shared, 'ckp'));
    expect(ckp).toHaveLength(1);
    expect(ckp[0]).toMatch(/^meta_0-0_\d+-\d+\.ckp$/);
    expect(await readdir(join(emu.tree.shared, 'gc'))).toHaveLength(1);
    expect(emu.tree.catalog.get('churn')!.get('t')!.rows.length).toBe(70);
  });
});

describe('MatrixOne emulator: restart reads its files as MatrixOne does', () => {
  it('recovers its catalog from mo-data alone; a copied home works too', async () => {
    const home = await tmp();
    let emu = await start(home);
    await sql(emu, 'create database keep', 'create table keep.t (a int)', 'insert into keep.t values (1),(2),(3)', 'create database gone', 'drop database gone');
    await emu.simulateDay({ newObjects: 3, mergeCount: 3, gc: true });
    await emu.close();
    emu = await start(home);
    expect(emu.hakeeper.bootstrapped).toBe(false);
    expect(await dbs(emu)).toEqual(['churn', 'keep', ...SYSTEM_DATABASES].sort());
    expect(await sql(emu, 'select count(*) from keep.t')).toEqual([{ 'count(*)': 3 }]);
    await emu.close();
    const home2 = await tmp();
    await cp(home, home2, { recursive: true });
    expect(await sql(await start(home2), 'select count(*) from keep.t')).toEqual([{ 'count(*)': 3 }]);
  });

  it('DISK: one raw file in mo-data/shared stops startup with "checksum not match"', async () => {
    const home = await tmp();
    const emu = await start(home);
    await sql(emu, 'create database db1');
    await emu.close();
    const obj = emu.tree.live[emu.tree.live.length - 1]!.name;
    const p = join(home, 'mo-data/shared', obj);
    await writeFile(p, unframeNative(await readFile(p)));
    await expect(start(home)).rejects.toThrow('checksum not match');
  });

  it('DISK-V2: a CRC-framed file first in its data dir stops startup (legacy DISK data)', async () => {
    const home = await tmp();
    const emu = await start(home, { backend: 'DISK-V2' });
    await emu.close();
    const first = (await readdir(join(home, 'mo-data/shared2'))).filter((f) => f.includes('_')).sort()[0]!;
    const { frame } = await import('./emulator/localfs.js');
    const p = join(home, 'mo-data/shared2', first);
    await writeFile(p, frame(await readFile(p)));
    await expect(start(home)).rejects.toThrow(/contains legacy DISK \(CRC32-framed\) data/);
  });

  it('hk_data: restored from the log service LOCAL (framed on DISK), RESTORED tag written; missing or misplaced is ignored and shows; misframed stops it', async () => {
    const home = await tmp();
    let emu = await start(home);
    await sql(emu, 'create database db1', 'create table db1.t (a int)');
    const dir = join(await tmp(), 'b');
    await sql(emu, `backup '' filesystem '${dir}' parallelism '1'`);
    const hk = await target(dir, true).tae('hakeeper/hk_data');
    const id = emu.hakeeper.nextID;
    await emu.close();
    const { frame } = await import('./emulator/localfs.js');
    const fresh = async (place: (h: string) => Promise<void>) => {
      const h = await tmp();
      await cp(join(home, 'etc'), join(h, 'etc'), { recursive: true });
      await cp(join(home, 'mo-data/shared'), join(h, 'mo-data/shared'), { recursive: true });
      await place(h);
      return h;
    };
    const put = (rel: string, data: Uint8Array) => async (h: string) => {
      await mkdir(join(h, rel, '..'), { recursive: true });
      await writeFile(join(h, rel), data);
    };
    // right place, framed: restored, IDs continue, RESTORED (1 byte, framed: 5 bytes)
    let h = await fresh(put('mo-data/local/hk_data', frame(hk)));
    emu = await start(h);
    expect(emu.hakeeper).toMatchObject({ bootstrapped: true, restored: true });
    expect(emu.hakeeper.nextID).toBeGreaterThanOrEqual(id);
    expect((await readFile(join(h, 'mo-data/local/RESTORED'))).toString('hex')).toBe('52d016a001');
    await emu.close();
    // misplaced (where the TN's shared data is) or absent: silently not restored
    for (const place of [put('mo-data/shared/hk_data', frame(hk)), async () => undefined]) {
      h = await fresh(place);
      emu = await start(h);
      expect(emu.hakeeper).toMatchObject({ bootstrapped: true, restored: false });
      expect(emu.hakeeper.nextID).toBeLessThan(id);
      await emu.close();
    }
    // raw on a DISK LOCAL: the log service stops (this hk_data is 3 bytes, less than one CRC: it
    // reads as empty, which has no watermarks; a longer one fails its CRC)
    h = await fresh(put('mo-data/local/hk_data', hk));
    await expect(start(h)).rejects.toThrow(/^log service: failed to get backup data: invalid input: HAKeeper backup contains no ID watermarks$/);
    h = await fresh(put('mo-data/local/hk_data', Buffer.concat([hk, Buffer.from('120b0a036b65791080a0b6ba01', 'hex')])));
    await expect(start(h)).rejects.toThrow(/^log service: failed to get backup data: internal error: checksum not match$/);
    // a file-path in log.toml is honoured
    h = await fresh(put('mo-data/local/elsewhere/hk', frame(hk)));
    await writeFile(join(h, 'etc/launch/log.toml'), `${await readFile(join(h, 'etc/launch/log.toml'), 'utf8')}\n[logservice.BootstrapConfig.restore]\nfile-path = "elsewhere/hk"\n`);
    expect((await start(h)).hakeeper.restored).toBe(true);
  });

  it('DISK-V2 (HEAD shipped configs): the log service reads hk_data framed from mo-data/local, not from the TN LOCAL mo-data/local2', async () => {
    const home = await tmp();
    let emu = await start(home, { backend: 'DISK-V2' });
    await sql(emu, 'create database db1');
    const dir = join(await tmp(), 'b');
    await sql(emu, `backup '' filesystem '${dir}' parallelism '1'`);
    const hk = await target(dir, false).tae('hakeeper/hk_data');
    await emu.close();
    const { frame } = await import('./emulator/localfs.js');
    for (const [rel, data, restored] of [['mo-data/local2/hk_data', hk, false], ['mo-data/local/hk_data', frame(hk), true]] as const) {
      const h = await tmp();
      await cp(join(home, 'etc'), join(h, 'etc'), { recursive: true });
      await cp(join(home, 'mo-data/shared2'), join(h, 'mo-data/shared2'), { recursive: true });
      await mkdir(join(h, rel, '..'), { recursive: true });
      await writeFile(join(h, rel), data);
      emu = await start(h);
      expect([rel, emu.hakeeper.restored]).toEqual([rel, restored]);
      await emu.close();
    }
  });

  it('a TN LOCAL declared DISK-V2 in mo-data/local, where the log service keeps its framed hk_data and RESTORED, stops the TN as MatrixOne does', async () => {
    const home = await tmp();
    const emu = await start(home, { backend: 'DISK-V2', layout: 'flat' });
    await sql(emu, 'create database db1');
    await emu.close();
    await rm(join(home, 'mo-data/logservice-data'), { recursive: true });
    const { frame } = await import('./emulator/localfs.js');
    await mkdir(join(home, 'mo-data/local'), { recursive: true });
    await writeFile(join(home, 'mo-data/local/hk_data'), frame(Buffer.from('08e807', 'hex')));
    expect((await start(home)).hakeeper.restored).toBe(true); // the flat configs leave LOCAL DISK
    const tn = await readFile(join(home, 'etc/launch/tn.toml'), 'utf8');
    await writeFile(join(home, 'etc/launch/tn.toml'), tn.replace('[[fileservice]]', '[[fileservice]]\nname = "LOCAL"\nbackend = "DISK-V2"\ndata-dir = "./mo-data/local"\n\n[[fileservice]]'));
    await expect(start(home)).rejects.toThrow(/mo-data\/local" contains legacy DISK \(CRC32-framed\) data/);
  });
});

