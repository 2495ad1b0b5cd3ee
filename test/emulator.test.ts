import { afterEach, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MobrError } from '../src/errors.js';
import { connect, type MoClient } from '../src/mo/client.js';
import { parseMoMeta, parseTaeList, parseTaeSum, verifySidecar, formatTS, digest } from '../src/mo/layout.js';
import { startEmulator, type Emulator } from './emulator/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-emu-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function start(home: string, extra: Partial<Parameters<typeof startEmulator>[0]> = {}): Promise<Emulator> {
  const emu = await startEmulator({ home, objectSize: { min: 20_000, max: 40_000 }, ...extra });
  cleanups.push(() => emu.close());
  return emu;
}

async function client(emu: Emulator, user = 'dump', password = '111'): Promise<MoClient> {
  const c = await connect({ host: emu.host, port: emu.port, user, password });
  cleanups.push(() => c.close());
  return c;
}

async function dbs(c: MoClient): Promise<string[]> {
  return (await c.query('show databases')).map((r) => r.Database as string);
}

/** Reads a backup dir and checks every sidecar; returns its parsed tae_list and tae_sum. */
async function readBackup(dir: string) {
  for (const f of ['mo_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) {
    verifySidecar(await readFile(join(dir, f)), await readFile(join(dir, `${f}.sha256`)), 'sha256', f);
  }
  const meta = parseMoMeta(await readFile(join(dir, 'mo_meta')));
  for (const m of meta) {
    if (m.type === 'launchconfig') {
      const f = `config/${m.file}`;
      verifySidecar(await readFile(join(dir, f)), await readFile(join(dir, `${f}.sha256`)), 'sha256', f);
    }
  }
  const list = parseTaeList(await readFile(join(dir, 'tae/tae_list')));
  const sum = parseTaeSum(await readFile(join(dir, 'tae/tae_sum')));
  return { meta, list, sum };
}

describe('MatrixOne emulator', () => {
  it('speaks MySQL as MatrixOne: auth, databases, rows', async () => {
    const emu = await start(await tmp());
    await expect(connect({ host: emu.host, port: emu.port, user: 'dump', password: 'nope' })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const c = await client(emu);
    expect(await c.version()).toMatch(/MatrixOne/);
    await c.query('create database db1');
    await c.query('create database db2');
    expect(await dbs(c)).toEqual(['db1', 'db2', 'information_schema', 'mo_catalog', 'mo_debug', 'mo_task', 'mysql', 'system', 'system_metrics']);
    await c.query('create table db1.t (id int primary key, name varchar(20))');
    await c.query("insert into db1.t values (1, 'a'), (2, 'it''s')");
    await c.query("insert into db1.t (id, name) values (3, NULL)");
    expect(await c.query('select count(*) from db1.t')).toEqual([{ 'count(*)': 3 }]);
    await c.query('drop database db1');
    expect(await dbs(c)).not.toContain('db1');
    await expect(c.query('create database db2')).rejects.toMatchObject({ code: 'SERVER_ERROR' });
  });

  it('wrong password is MySQL error 1045 and unreachable ports are UNREACHABLE', async () => {
    const emu = await start(await tmp());
    const mysql = (await import('mysql2/promise')).default;
    await expect(mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: 'x' })).rejects.toMatchObject({ errno: 1045 });
    const port = emu.port;
    await emu.close();
    const e = await connect({ host: '127.0.0.1', port, user: 'dump', password: 'secret-pw' }).catch((x) => x);
    expect(e).toBeInstanceOf(MobrError);
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toBe(`cannot connect to MatrixOne at 127.0.0.1:${port}: connection refused`);
  });

  it('full backup writes a layout the parsers read and the sidecars verify; no privilege -> ACCESS_DENIED', async () => {
    const home = await tmp();
    const emu = await start(home, { users: [{ user: 'reader', password: 'r', canBackup: false }] });
    const c = await client(emu);
    await c.query('create database db1');
    await c.query('create table db1.t (a int)');
    await c.query('insert into db1.t values (1),(2)');
    const target = join(await tmp(), 'b1');
    await c.backup({ target: { kind: 'filesystem', dir: target } });
    const { meta, list, sum } = await readBackup(target);
    expect(meta[0]).toEqual({ type: 'version', version: '0823' });
    expect(meta.filter((m) => m.type === 'launchconfig').map((m) => (m as { subtype: string }).subtype).sort()).toEqual(['cn', 'dn', 'launch', 'log']);
    const objects = list.filter((e) => !e.path.includes('/'));
    expect(objects.length).toBe(emu.tree.live.length);
    expect(list.some((e) => e.path.startsWith('ckp/meta_'))).toBe(true);
    for (const e of list) {
      const data = await readFile(join(target, 'tae', e.path));
      expect(data.length).toBe(e.size);
      expect(Buffer.from(digest('sha256', data)).toString('hex')).toBe(e.checksum);
    }
    expect(sum.size).toBe(list.reduce((s, e) => s + e.size, 0));
    expect(sum.type).toBe('');
    // same target again: MatrixOne refuses to overwrite
    await expect(c.backup({ target: { kind: 'filesystem', dir: target } })).rejects.toMatchObject({ code: 'SERVER_ERROR' });
    const r = await client(emu, 'reader', 'r');
    const denied = await r.backup({ target: { kind: 'filesystem', dir: join(target, 'x') } }).catch((x) => x);
    expect(denied).toMatchObject({ code: 'ACCESS_DENIED' });
    expect(denied.message).toMatch(/do not have privilege/);
  });

  it('incremental backup marks files of the base needCopy=false and does not copy them', async () => {
    const emu = await start(await tmp());
    const c = await client(emu);
    await emu.simulateDay({ newObjects: 4 });
    const root = await tmp();
    await c.backup({ target: { kind: 'filesystem', dir: join(root, 'full') } });
    const full = await readBackup(join(root, 'full'));
    await emu.simulateDay({ newObjects: 2 });
    await c.backup({ target: { kind: 'filesystem', dir: join(root, 'inc') }, incrementalFrom: formatTS(full.sum.backupTS!) });
    const inc = await readBackup(join(root, 'inc'));
    expect(inc.sum.type).toBe('incremental');
    const old = new Set(full.list.filter((e) => !e.path.includes('/')).map((e) => e.path));
    const incObjects = inc.list.filter((e) => !e.path.includes('/'));
    expect(incObjects.filter((e) => e.needCopy).length).toBe(2);
    const copied = new Set(await readdir(join(root, 'inc', 'tae')));
    for (const e of incObjects) {
      expect(e.needCopy).toBe(!old.has(e.path));
      expect(copied.has(e.path)).toBe(e.needCopy);
      if (!e.needCopy) expect(e.checksum).toBe('');
    }
  });

  it('churn: merges replace objects, GC deletes them, checkpoints change', async () => {
    const emu = await start(await tmp());
    await emu.simulateDay({ newObjects: 5 });
    const before = new Set(await readdir(emu.tree.shared));
    await emu.simulateDay({ newObjects: 2, mergeCount: 4, gc: true });
    const after = new Set(await readdir(emu.tree.shared));
    const objs = (s: Set<string>) => [...s].filter((f) => /_\d{5}$/.test(f));
    expect(objs(after).length).toBe(emu.tree.live.length);
    expect(objs(before).filter((f) => !after.has(f)).length).toBeGreaterThanOrEqual(4);
    expect((await readdir(join(emu.tree.shared, 'gc'))).length).toBe(1);
    expect(emu.tree.catalog.get('churn')!.get('t')!.rows.length).toBe(70);
  });

  it('recovers its catalog from the tree alone after restart and after a copied tree', async () => {
    const home = await tmp();
    let emu = await start(home);
    let c = await client(emu);
    await c.query('create database keep');
    await c.query('create table keep.t (a int)');
    await c.query('insert into keep.t values (1),(2),(3)');
    await c.query('create database gone');
    await c.query('drop database gone');
    await emu.simulateDay({ newObjects: 3, mergeCount: 3, gc: true });
    await c.close();
    await emu.close();
    emu = await start(home);
    c = await client(emu);
    expect(await dbs(c)).toEqual(['churn', 'information_schema', 'keep', 'mo_catalog', 'mo_debug', 'mo_task', 'mysql', 'system', 'system_metrics']);
    expect(await c.query('select count(*) from keep.t')).toEqual([{ 'count(*)': 3 }]);
    // a restore is a copy of mo-data/shared into a fresh home
    const home2 = await tmp();
    await cp(join(home, 'mo-data', 'shared'), join(home2, 'mo-data', 'shared'), { recursive: true });
    const emu2 = await start(home2);
    const c2 = await client(emu2);
    expect(await c2.query('select count(*) from keep.t')).toEqual([{ 'count(*)': 3 }]);
  });
});
