/**
 * `mo_br snapshot …` and `mo_br pitr …` through ./mo_br against the emulator, which parses the
 * statements with each release's grammar and answers with the server's columns and errors
 * (test/emulator/snapshot.ts): create, show (filters, --json), restore (the rows come back), drop;
 * state kept across a restart; the server's error code in one line; a name with a quote never
 * reaches the server; the password from MO_BR_PASSWORD; v1.2's FROM SNAPSHOT form; no PITR before v2.0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { sql } from './helpers/mo-target.js';

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-snap-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const count = async (emu: Emulator, t: string) => Object.values((await sql(emu, `select count(*) from ${t}`))[0] as object)[0];

/** ./mo_br against `emu`, the password only in MO_BR_PASSWORD. */
const br = (emu: Emulator, args: string[]) => mobr([...args, '--host', emu.host, '--port', String(emu.port), '--user', 'dump'], ROOT, { env: { ...process.env, MO_BR_PASSWORD: '111' } });
const oneLine = (r: { stderr: string }) => expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);

describe('mo_br snapshot (v4.2 grammar)', () => {
  it('create, show with filters and --json, restore a dropped database, state across a restart, drop', async () => {
    const home = path.join(work, 'v42');
    let emu = await startEmulator({ home, serverVersion: '4.2.0' });
    try {
      await sql(emu, 'create database db1');
      await sql(emu, 'create table db1.t (a int)');
      await sql(emu, 'insert into db1.t values (1), (2)');
      const c = await br(emu, ['snapshot', 'create', '--level', 'account', '--account', 'sys', '--sname', 'sp1']);
      expect([c.code, c.stdout, c.stderr]).toEqual([0, 'create snapshot sp1 success\n', '']);
      const again = await br(emu, ['snapshot', 'create', '--level', 'account', '--account', 'sys', '--sname', 'sp1']);
      expect(again.code).toBe(8);
      expect(again.stderr).toMatch(/^mo_br: snapshot create on MatrixOne at 127\.0\.0\.1:\d+ failed \(error 20101\): internal error: snapshot sp1 already exists\n$/);
      const [json, text, since, before] = await Promise.all([
        br(emu, ['snapshot', 'show', '--json']),
        br(emu, ['snapshot', 'show']),
        br(emu, ['snapshot', 'show', '--account', 'sys', '--beginTs', '2000-01-01 00:00:00', '--json']),
        br(emu, ['snapshot', 'show', '--endTs', '2000-01-01 00:00:00', '--json']),
      ]);
      expect(JSON.parse(json.stdout)).toEqual({ schema: 'mobr.snapshot.v1', snapshots: [{ snapshotName: 'sp1', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/), snapshotLevel: 'account', accountName: 'sys', databaseName: '', tableName: '' }] });
      expect(text.stdout.split('\n')[0]).toMatch(/^SNAPSHOT NAME\tTIMESTAMP +\tSNAPSHOT LEVEL\tACCOUNT NAME\tDATABASE NAME\tTABLE NAME\t$/);
      expect(text.stdout.split('\n')[1]).toMatch(/^sp1 +\t\S+ \S+\taccount +\tsys +\t +\t +\t$/);
      expect(JSON.parse(since.stdout).snapshots).toHaveLength(1);
      expect(JSON.parse(before.stdout).snapshots).toHaveLength(0);

      await sql(emu, 'drop database db1');
      const r = await br(emu, ['snapshot', 'restore', '--account', 'sys', '--db', 'db1', '--sname', 'sp1']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(await count(emu, 'db1.t')).toBe(2);

      await emu.close();
      emu = await startEmulator({ home, serverVersion: '4.2.0' });
      expect(JSON.parse((await br(emu, ['snapshot', 'show', '--json'])).stdout).snapshots.map((s: { snapshotName: string }) => s.snapshotName)).toEqual(['sp1']);
      const d = await br(emu, ['snapshot', 'drop', '--sname', 'sp1']);
      expect([d.code, d.stdout]).toEqual([0, 'drop snapshot sp1 success\n']);
      const gone = await br(emu, ['snapshot', 'drop', '--sname', 'sp1']);
      expect(gone.code).toBe(8);
      expect(gone.stderr).toContain('(error 20101): internal error: snapshot sp1 does not exist');
      oneLine(gone);
    } finally {
      await emu.close();
    }
  }, 60_000);

  it('a name with a quote never becomes SQL; bad flags fail before connecting; a restore into a new account creates it', async () => {
    const emu = await startEmulator({ home: path.join(work, 'v42b'), serverVersion: '4.2.0' });
    try {
      await sql(emu, 'create database db1');
      const [quote, level, ts] = await Promise.all([
        br(emu, ['snapshot', 'create', '--level', 'cluster', '--sname', "x`; drop database db1; --"]),
        br(emu, ['snapshot', 'create', '--level', 'galaxy', '--sname', 'a']),
        br(emu, ['pitr', 'restore', '--pname', 'p', '--timestamp', "2024-01-01' or '1"]),
      ]);
      expect([quote.code, level.code, ts.code]).toEqual([2, 2, 2]);
      expect(quote.stderr).toMatch(/^mo_br: bad --sname "x`; drop database db1; --": use letters/);
      expect(level.stderr).toBe('mo_br: bad --level "galaxy": use cluster, account, database, table\n');
      expect(ts.stderr).toMatch(/^mo_br: bad --timestamp /);
      expect((await sql(emu, 'show databases')).map((x) => Object.values(x as object)[0])).toContain('db1');
      expect(JSON.parse((await br(emu, ['snapshot', 'show', '--json'])).stdout).snapshots).toEqual([]);

      expect((await br(emu, ['snapshot', 'create', '--level', 'account', '--account', 'sys', '--sname', 'sp2'])).code).toBe(0);
      const na = await br(emu, ['snapshot', 'restore', '--account', 'sys', '--sname', 'sp2', '--newaccount', 'acc2', '--newaccountadmin', 'admin', '--newaccountpwd', 'Secr3t-pw']);
      expect([na.code, na.stderr]).toEqual([0, '']);
      const twice = await br(emu, ['snapshot', 'restore', '--account', 'sys', '--sname', 'sp2', '--new_account', 'acc2', '--new_admin_name', 'admin', '--new_admin_password', 'Secr3t-pw']);
      expect(twice.code).toBe(8);
      expect(twice.stderr).toContain('(error 20101): internal error: the tenant acc2 exists');
      expect(twice.stderr).not.toContain('Secr3t');
    } finally {
      await emu.close();
    }
  }, 60_000);
});

describe('mo_br pitr (v4.2 grammar)', () => {
  it('create, show, alter, restore within and outside its range, the range checked by the server, state across a restart, drop', async () => {
    const home = path.join(work, 'pitr');
    let emu = await startEmulator({ home, serverVersion: '4.2.0' });
    try {
      const c = await br(emu, ['pitr', 'create', '--pname', 'p1', '--level', 'account', '--account', 'sys', '--rangevalue', '1', '--rangeunit', 'h']);
      expect([c.code, c.stdout, c.stderr]).toEqual([0, 'create pitr p1 success\n', '']);
      const big = await br(emu, ['pitr', 'create', '--pname', 'p2', '--level', 'cluster', '--rangevalue', '101', '--rangeunit', 'h']);
      expect(big.code).toBe(8);
      expect(big.stderr).toMatch(/\(error 20101\): internal error: invalid pitr value 101\n$/);
      const alter = await br(emu, ['pitr', 'alter', '--pname', 'p1', '--rangevalue', '2', '--rangeunit', 'd']);
      expect(alter.code).toBe(0);
      const now = new Date(Date.now() - 60_000).toISOString().replace('T', ' ').replace('Z', '');
      const [show, text, within, old] = await Promise.all([
        br(emu, ['pitr', 'show', '--account', 'sys', '--json']),
        br(emu, ['pitr', 'show']),
        br(emu, ['pitr', 'restore', '--pname', 'p1', '--account', 'sys', '--timestamp', now]),
        br(emu, ['pitr', 'restore', '--pname', 'p1', '--account', 'sys', '--timestamp', '2000-01-01 00:00:00']),
      ]);
      expect(JSON.parse(show.stdout).pitrs).toEqual([{ pitrName: 'p1', createdTime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), modifiedTime: expect.any(String), pitrLevel: 'account', accountName: 'sys', databaseName: '*', tableName: '*', pitrLength: 2, pitrUnit: 'd' }]);
      expect(text.stdout.split('\n')[0]).toBe('PITR NAME\tCREATED TIME       \tMODIFIED TIME      \tPITR LEVEL\tACCOUNT NAME\tDATABASE NAME\tTABLE NAME\tPITR LENGTH\tPITR UNIT\t');
      expect([within.code, within.stdout]).toEqual([0, 'restore pitr p1 success\n']);
      expect(old.code).toBe(8);
      expect(old.stderr).toMatch(/\(error 20101\): internal error: input timestamp 2000-01-01 00:00:00\.000000 is less than the pitr range minest timestamp/);
      await emu.close();
      emu = await startEmulator({ home, serverVersion: '4.2.0' });
      expect(JSON.parse((await br(emu, ['pitr', 'show', '--json'])).stdout).pitrs.map((p: { pitrName: string }) => p.pitrName)).toEqual(['p1']);
      expect((await br(emu, ['pitr', 'drop', '--pname', 'p1'])).stdout).toBe('drop pitr p1 success\n');
      expect(JSON.parse((await br(emu, ['pitr', 'show', '--json'])).stdout).pitrs).toEqual([]);
    } finally {
      await emu.close();
    }
  }, 60_000);
});

describe('older releases', () => {
  it("v1.2: restore is sent in that release's FROM SNAPSHOT form; it has no PITR (a syntax error, its code in one line)", async () => {
    const emu = await startEmulator({ home: path.join(work, 'v12'), serverVersion: '1.2.0' });
    try {
      await sql(emu, 'create database db1');
      await sql(emu, 'create table db1.t (a int)');
      await sql(emu, 'insert into db1.t values (7)');
      expect((await br(emu, ['snapshot', 'create', '--level', 'account', '--account', 'sys', '--sname', 'old'])).code).toBe(0);
      await sql(emu, 'drop table db1.t');
      const r = await br(emu, ['snapshot', 'restore', '--account', 'sys', '--db', 'db1', '--table', 't', '--sname', 'old']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(await count(emu, 'db1.t')).toBe(1);
      const p = await br(emu, ['pitr', 'show']);
      expect(p.code).toBe(8);
      expect(p.stderr).toMatch(/^mo_br: pitr show on MatrixOne at \S+ failed \(error 1064\): SQL parser error: /);
      oneLine(p);
    } finally {
      await emu.close();
    }
  }, 60_000);
});

describe('help and completion', () => {
  it('--help shows the documented flags; bash completion offers the commands and their flags', async () => {
    const [help, comp] = await Promise.all([mobr(['pitr', 'create', '--help'], ROOT), mobr(['completion', 'bash'], ROOT)]);
    expect(help.code).toBe(0);
    for (const f of ['--host', '--port', '--user', '--password', '--pname', '--level', '--account', '--database', '--table', '--rangevalue', '--rangeunit']) expect(help.stdout).toContain(f);
    expect(help.stdout).toContain('(env: MO_BR_PASSWORD)');
    expect(comp.stdout).toMatch(/snapshot/);
    expect(comp.stdout).toMatch(/--sname/);
    expect(comp.stdout).toMatch(/--rangevalue/);
  });
});
