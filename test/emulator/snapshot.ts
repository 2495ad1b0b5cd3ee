/**
 * Snapshots and PITR as MatrixOne parses and answers them (read at the release tags):
 *  - grammar (pkg/sql/parsers/dialect/mysql/mysql_sql.y): CREATE SNAPSHOT [IF NOT EXISTS] <n> FOR
 *    CLUSTER | ACCOUNT [<a>] | DATABASE <d> | TABLE <d> <t>; DROP SNAPSHOT [IF EXISTS] <n>;
 *    SHOW SNAPSHOTS [WHERE …] (v1.2.0 on). Restore up to v3.0.x: RESTORE CLUSTER FROM SNAPSHOT
 *    <n> | RESTORE ACCOUNT <a> [DATABASE <d> [TABLE <t>]] FROM SNAPSHOT <n> [TO ACCOUNT <b>];
 *    from v4.0.0: RESTORE CLUSTER {SNAPSHOT = <n>} | RESTORE ACCOUNT <a> {…} [TO ACCOUNT <b>] |
 *    RESTORE DATABASE [<a>.]<d> {…} [TO …] | RESTORE TABLE [<a>.]<d>.<t> {…} [TO …].
 *    CREATE PITR [IF NOT EXISTS] <n> [FOR CLUSTER | ACCOUNT [<a>] | DATABASE <d> [TABLE <t>] |
 *    TABLE <d> <t>] RANGE <int> '<unit>'; ALTER PITR [IF EXISTS] <n> RANGE <int> '<unit>';
 *    DROP PITR [IF EXISTS] <n>; SHOW PITR [WHERE …]; RESTORE [CLUSTER | ACCOUNT <a>] [DATABASE <d>
 *    [TABLE <t>]] FROM PITR <n> '<ts>' [[AS] <src>] (v2.0.0 on).
 *  - result columns (pkg/sql/plan/build_show.go): SHOW SNAPSHOTS SNAPSHOT_NAME, TIMESTAMP,
 *    SNAPSHOT_LEVEL, ACCOUNT_NAME, DATABASE_NAME, TABLE_NAME, newest first; SHOW PITR PITR_NAME,
 *    CREATED_TIME, MODIFIED_TIME (seconds), PITR_LEVEL, ACCOUNT_NAME, DATABASE_NAME, TABLE_NAME
 *    ('*' when empty), PITR_LENGTH, PITR_UNIT, newest first; WHERE filters those columns.
 *  - errors (pkg/frontend/snapshot.go, pitr.go): internal errors, code 20101: "snapshot %s already
 *    exists", "snapshot %s does not exist", "account|database %s does not exist", "table %s.%s
 *    does not exist", "invalid pitr value %d" (not 1-100), "invalid pitr unit %s" (h, d, mo, y),
 *    "pitr %s already exists", "cluster level pitr already exists", "pitr %s does not exist",
 *    "input timestamp … is less than the pitr range minest timestamp …" / "… is bigger than now …".
 * State lives where MatrixOne keeps it, in mo_catalog tables (mo_snapshots, mo_pitr, mo_account),
 * written as the emulator's objects: it survives a restart (and a physical backup and restore).
 * A snapshot keeps the user tables it covers; restoring it puts them back. The emulator holds one
 * account's data: a restore TO ACCOUNT, and a restore from PITR, are checked but change no rows.
 */
import { parseError, SqlError, SYSTEM_DATABASES, type Ctx, type Result, type Tok } from './sql.js';
import type { Op, Table } from './tree.js';

const CAT = 'mo_catalog';
const SNAP = 'mo_snapshots';
const PITR = 'mo_pitr';
const ACCT = 'mo_account';
const TABLES: Record<string, string[]> = {
  [SNAP]: ['sname', 'ts', 'level', 'account_name', 'database_name', 'table_name', 'state'],
  [PITR]: ['pitr_name', 'create_time', 'modified_time', 'level', 'account_name', 'database_name', 'table_name', 'pitr_length', 'pitr_unit'],
  [ACCT]: ['account_name', 'admin_name'],
};
const internal = (m: string) => new SqlError(20101, 'HY000', `internal error: ${m}`);

/** The mo_catalog tables, created on first use (as a bootstrapped cluster has them). */
function catalogOps(ctx: Ctx): Op[] {
  const ops: Op[] = [];
  if (!ctx.tree.catalog.has(CAT)) ops.push({ op: 'createdb', db: CAT });
  for (const [table, cols] of Object.entries(TABLES)) if (!ctx.tree.catalog.get(CAT)?.has(table)) ops.push({ op: 'createtable', db: CAT, table, cols });
  return ops;
}
const rows = (ctx: Ctx, table: string) => ctx.tree.catalog.get(CAT)?.get(table)?.rows ?? [];
const write = (ctx: Ctx, ops: Op[]) => ctx.locked(() => ctx.tree.write([...catalogOps(ctx), ...ops]));

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function fmtNs(ns: bigint, frac: boolean): string {
  const d = new Date(Number(ns / 1_000_000n));
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return frac ? `${base}.${pad(Number((ns / 1000n) % 1_000_000n), 6)}` : base;
}

class Parser {
  i = 0;
  constructor(readonly t: Tok[], readonly sql: string) {}
  kw(): string | undefined {
    const x = this.t[this.i];
    return x?.k === 'id' ? x.v.toLowerCase() : x?.v;
  }
  take(...words: string[]): boolean {
    const save = this.i;
    for (const w of words) {
      if (this.kw() !== w) {
        this.i = save;
        return false;
      }
      this.i++;
    }
    return true;
  }
  need(...words: string[]): void {
    if (!this.take(...words)) throw parseError(this.sql, this.t, this.i);
  }
  /** An identifier; MatrixOne lowercases one that is not backquoted (Compare()). */
  ident(): string {
    const x = this.t[this.i];
    if (x?.k !== 'id') throw parseError(this.sql, this.t, this.i);
    this.i++;
    return this.sql[x.pos] === '`' ? x.v : x.v.toLowerCase();
  }
  /** a, a.b, a.b.c (backquoted parts or one bare dotted word) */
  dotted(): string[] {
    const x = this.t[this.i];
    if (x?.k === 'id' && this.sql[x.pos] !== '`' && x.v.includes('.')) {
      this.i++;
      return x.v.toLowerCase().split('.');
    }
    const out = [this.ident()];
    while (this.t[this.i]?.v === '.') {
      this.i++;
      out.push(this.ident());
    }
    return out;
  }
  str(): string {
    const x = this.t[this.i];
    if (x?.k !== 'str') throw parseError(this.sql, this.t, this.i);
    this.i++;
    return x.v;
  }
  int(): number {
    const x = this.t[this.i];
    if (x?.k !== 'num' || !/^\d+$/.test(x.v)) throw parseError(this.sql, this.t, this.i);
    this.i++;
    return Number(x.v);
  }
  end(): void {
    if (this.i !== this.t.length) throw parseError(this.sql, this.t, this.i);
  }
}

function userTables(ctx: Ctx, db?: string, table?: string): Record<string, Record<string, Table>> {
  const out: Record<string, Record<string, Table>> = {};
  for (const [d, tables] of ctx.tree.catalog) {
    if (SYSTEM_DATABASES.includes(d) || (db !== undefined && d !== db)) continue;
    if (db !== undefined && table !== undefined && !tables.has(table)) throw internal(`table ${db}.${table} does not exist`);
    out[d] = Object.fromEntries([...tables].filter(([t]) => table === undefined || t === table).map(([t, v]) => [t, { cols: [...v.cols], rows: v.rows.map((r) => [...r]) }]));
  }
  if (db !== undefined && !out[db]) throw internal(`database ${db} does not exist`);
  return out;
}

const accountExists = (ctx: Ctx, a: string) => a === 'sys' || rows(ctx, ACCT).some((r) => r[0] === a);
function needAccount(ctx: Ctx, a: string): void {
  if (!accountExists(ctx, a)) throw internal(`account ${a} does not exist`);
}

async function createSnapshot(p: Parser, ctx: Ctx): Promise<Result> {
  const ine = p.take('if', 'not', 'exists');
  const name = p.ident();
  p.need('for');
  let level: string;
  let account = '';
  let db = '';
  let table = '';
  if (p.take('cluster')) level = 'cluster';
  else if (p.take('account')) {
    level = 'account';
    account = p.i < p.t.length ? p.ident() : 'sys';
  } else if (p.take('database')) [level, db] = ['database', p.ident()];
  else if (p.take('table')) [level, db, table] = ['table', p.ident(), p.ident()];
  else throw parseError(p.sql, p.t, p.i);
  p.end();
  if (rows(ctx, SNAP).some((r) => r[0] === name)) {
    if (ine) return undefined;
    throw internal(`snapshot ${name} already exists`);
  }
  if (account) needAccount(ctx, account);
  const state = userTables(ctx, db || undefined, table || undefined);
  await write(ctx, [{ op: 'insert', db: CAT, table: SNAP, rows: [[name, String(nowNs()), level, account, db, table, JSON.stringify(state)]] }]);
  return undefined;
}

/** Puts back the tables a snapshot kept (all of them, one database, or one table). */
async function applyState(ctx: Ctx, state: Record<string, Record<string, Table>>, db?: string, table?: string): Promise<void> {
  const ops: Op[] = [];
  if (db === undefined) for (const d of ctx.tree.catalog.keys()) if (!SYSTEM_DATABASES.includes(d)) ops.push({ op: 'dropdb', db: d });
  for (const [d, tables] of Object.entries(state)) {
    if (db !== undefined && d !== db) continue;
    if (table === undefined) ops.push({ op: 'dropdb', db: d }, { op: 'createdb', db: d });
    else if (!ctx.tree.catalog.has(d)) ops.push({ op: 'createdb', db: d });
    for (const [t, v] of Object.entries(tables)) {
      if (table !== undefined && t !== table) continue;
      ops.push({ op: 'droptable', db: d, table: t }, { op: 'createtable', db: d, table: t, cols: v.cols });
      if (v.rows.length) ops.push({ op: 'insert', db: d, table: t, rows: v.rows });
    }
  }
  if (db !== undefined && !state[db]) throw internal(`database ${db} does not exist`);
  await ctx.locked(() => ctx.tree.write(ops));
}

async function restoreSnapshot(p: Parser, ctx: Ctx, brace: boolean): Promise<Result> {
  let account: string | undefined;
  let db: string | undefined;
  let table: string | undefined;
  if (p.take('cluster')) {
    /* whole cluster */
  } else if (brace && p.take('database')) {
    const s = p.dotted();
    if (s.length > 2) throw parseError(p.sql, p.t, p.i);
    [account, db] = s.length === 2 ? [s[0], s[1]] : [undefined, s[0]];
  } else if (brace && p.take('table')) {
    const s = p.dotted();
    if (s.length < 2 || s.length > 3) throw parseError(p.sql, p.t, p.i);
    [account, db, table] = s.length === 3 ? s : [undefined, s[0], s[1]];
  } else {
    p.need('account');
    account = p.ident();
    if (!brace && p.take('database')) {
      db = p.ident();
      if (p.take('table')) table = p.ident();
    }
  }
  let name: string;
  if (brace) {
    p.need('{', 'snapshot', '=');
    name = p.t[p.i]?.k === 'str' ? p.str().toLowerCase() : p.ident();
    p.need('}');
  } else {
    p.need('from', 'snapshot');
    name = p.ident();
  }
  const to = p.take('to', 'account') ? p.ident() : undefined;
  p.end();
  const snap = rows(ctx, SNAP).find((r) => r[0] === name);
  if (!snap) throw internal(`snapshot ${name} does not exist`);
  if (account) needAccount(ctx, account);
  if (to) {
    needAccount(ctx, to);
    return undefined;
  }
  await applyState(ctx, JSON.parse(String(snap[6])) as Record<string, Record<string, Table>>, db, table);
  return undefined;
}

/** `col op 'value' [AND …]` over a result's columns (SHOW … WHERE). */
function where(p: Parser, cols: string[], out: unknown[][]): unknown[][] {
  if (!p.take('where')) return out;
  const conds: ((r: unknown[]) => boolean)[] = [];
  do {
    const col = cols.indexOf(p.ident().toUpperCase());
    if (col < 0) throw parseError(p.sql, p.t, p.i - 1);
    let op = p.t[p.i]?.v ?? '';
    p.i++;
    if ((op === '>' || op === '<' || op === '!') && p.t[p.i]?.v === '=') {
      op += '=';
      p.i++;
    }
    const v = p.t[p.i]?.k === 'num' ? String(p.int()) : p.str();
    const cmp = (a: unknown) => (String(a) < v ? -1 : String(a) > v ? 1 : 0);
    const f: Record<string, (c: number) => boolean> = { '=': (c) => c === 0, '!=': (c) => c !== 0, '>=': (c) => c >= 0, '<=': (c) => c <= 0, '>': (c) => c > 0, '<': (c) => c < 0 };
    if (!f[op]) throw parseError(p.sql, p.t, p.i - 1);
    conds.push((r) => f[op]!(cmp(r[col])));
  } while (p.take('and'));
  p.end();
  return out.filter((r) => conds.every((c) => c(r)));
}

function showSnapshots(p: Parser, ctx: Ctx): Result {
  const cols = ['SNAPSHOT_NAME', 'TIMESTAMP', 'SNAPSHOT_LEVEL', 'ACCOUNT_NAME', 'DATABASE_NAME', 'TABLE_NAME'];
  const all = [...rows(ctx, SNAP)].sort((a, b) => (BigInt(String(b[1])) > BigInt(String(a[1])) ? 1 : -1)).map((r) => [r[0], fmtNs(BigInt(String(r[1])), true), r[2], r[3], r[4], r[5]]);
  return { cols, rows: where(p, cols, all) };
}

function showPitr(p: Parser, ctx: Ctx): Result {
  const cols = ['PITR_NAME', 'CREATED_TIME', 'MODIFIED_TIME', 'PITR_LEVEL', 'ACCOUNT_NAME', 'DATABASE_NAME', 'TABLE_NAME', 'PITR_LENGTH', 'PITR_UNIT'];
  const star = (v: unknown) => (v === '' ? '*' : v);
  const all = [...rows(ctx, PITR)].sort((a, b) => (BigInt(String(b[1])) > BigInt(String(a[1])) ? 1 : -1))
    .map((r) => [r[0], fmtNs(BigInt(String(r[1])), false), fmtNs(BigInt(String(r[2])), false), r[3], star(r[4]), star(r[5]), star(r[6]), r[7], r[8]]);
  return { cols, rows: where(p, cols, all) };
}

function pitrRange(p: Parser): [number, string] {
  p.need('range');
  const v = p.int();
  const u = p.str().toLowerCase();
  if (v <= 0 || v > 100) throw internal(`invalid pitr value ${v}`);
  if (!['h', 'd', 'mo', 'y'].includes(u)) throw internal(`invalid pitr unit ${u}`);
  return [v, u];
}

async function createPitr(p: Parser, ctx: Ctx): Promise<Result> {
  const ine = p.take('if', 'not', 'exists');
  const name = p.ident();
  let level = 'account';
  let [account, db, table] = ['sys', '', ''];
  if (p.take('for')) {
    if (p.take('cluster')) [level, account] = ['cluster', ''];
    else if (p.take('account')) account = p.kw() === 'range' ? 'sys' : p.ident();
    else if (p.take('database')) {
      [level, db] = ['database', p.ident()];
      if (p.take('table')) [level, table] = ['table', p.ident()];
    } else if (p.take('table')) [level, db, table] = ['table', p.ident(), p.ident()];
    else throw parseError(p.sql, p.t, p.i);
  }
  const [v, u] = pitrRange(p);
  p.end();
  if (rows(ctx, PITR).some((r) => r[0] === name)) {
    if (ine) return undefined;
    throw internal(`pitr ${name} already exists`);
  }
  if (level === 'cluster' && rows(ctx, PITR).some((r) => r[3] === 'cluster')) throw internal('cluster level pitr already exists');
  if (account) needAccount(ctx, account);
  if (db) userTables(ctx, db, table || undefined);
  const now = String(nowNs());
  await write(ctx, [{ op: 'insert', db: CAT, table: PITR, rows: [[name, now, now, level, account, db, table, v, u]] }]);
  return undefined;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, mo: 30 * 86_400_000, y: 365 * 86_400_000 };

async function restorePitr(p: Parser, ctx: Ctx): Promise<Result> {
  if (p.take('cluster')) {
    /* whole cluster */
  } else if (p.take('account')) needAccount(ctx, p.ident());
  if (p.take('database')) {
    p.ident();
    if (p.take('table')) p.ident();
  }
  p.need('from', 'pitr');
  const name = p.ident();
  const ts = p.str();
  if (p.i < p.t.length) {
    p.take('as');
    needAccount(ctx, p.ident());
  }
  p.end();
  const pitr = rows(ctx, PITR).find((r) => r[0] === name);
  if (!pitr) throw internal(`pitr ${name} does not exist`);
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?$/.exec(ts);
  if (!m) throw internal(`invalid timestamp ${ts}`);
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + Math.floor(Number(m[7] ?? 0) * 1000);
  const min = Date.now() - Number(pitr[7]) * UNIT_MS[String(pitr[8])]!;
  const show = (ms: number) => fmtNs(BigInt(ms) * 1_000_000n, true);
  if (at < min) throw internal(`input timestamp ${show(at)} is less than the pitr range minest timestamp ${show(min)}`);
  if (at > Date.now()) throw internal(`input timestamp ${show(at)} is bigger than now timestamp ${show(Date.now())}`);
  return undefined;
}

/** CREATE ACCOUNT <a> ADMIN_NAME [=] '<n>' IDENTIFIED BY '<p>' (enough for a restore into a new account). */
async function createAccount(p: Parser, ctx: Ctx): Promise<Result> {
  const ine = p.take('if', 'not', 'exists');
  const name = p.ident();
  p.need('admin_name');
  p.take('=');
  const admin = p.str();
  p.need('identified', 'by');
  p.str();
  p.end();
  if (accountExists(ctx, name)) {
    if (ine) return undefined;
    throw internal(`the tenant ${name} exists`);
  }
  await write(ctx, [{ op: 'insert', db: CAT, table: ACCT, rows: [[name, admin]] }]);
  return undefined;
}

async function alterOrDrop(p: Parser, ctx: Ctx, what: 'snapshot' | 'pitr', alter: boolean): Promise<Result> {
  const ie = p.take('if', 'exists');
  const name = p.ident();
  const range = alter ? pitrRange(p) : undefined;
  p.end();
  const table = what === 'snapshot' ? SNAP : PITR;
  if (!rows(ctx, table).some((r) => r[0] === name)) {
    if (ie) return undefined;
    throw internal(`${what} ${name} does not exist`);
  }
  await write(ctx, [range ? { op: 'update', db: CAT, table, col: 0, value: name, set: [[2, String(nowNs())], [7, range[0]], [8, range[1]]] } : { op: 'delete', db: CAT, table, col: 0, value: name }]);
  return undefined;
}

/** Whether `words` (the statement's lowercased words) start one of the statements above. */
export const isSnapshotStmt = (words: string): boolean => /^((create|drop|alter) (snapshot|pitr|account)|show (snapshots|pitr)|restore)\b/.test(words);

/** One of the statements above; a syntax error where the release has no such statement. */
export async function snapshotStmt(t: Tok[], sql: string, ctx: Ctx): Promise<Result> {
  const p = new Parser(t, sql);
  const v = ctx.server;
  const isSnap = (w: string) => v.snapshots && p.take(...w.split(' '));
  const isPitr = (w: string) => v.pitr && p.take(...w.split(' '));
  if (isSnap('create snapshot')) return createSnapshot(p, ctx);
  if (isSnap('drop snapshot')) return alterOrDrop(p, ctx, 'snapshot', false);
  if (isSnap('show snapshots')) return showSnapshots(p, ctx);
  if (isPitr('create pitr')) return createPitr(p, ctx);
  if (isPitr('alter pitr')) return alterOrDrop(p, ctx, 'pitr', true);
  if (isPitr('drop pitr')) return alterOrDrop(p, ctx, 'pitr', false);
  if (isPitr('show pitr')) return showPitr(p, ctx);
  if (p.take('create', 'account')) return createAccount(p, ctx);
  if (p.kw() === 'restore' && v.snapshots) {
    const words = t.map((x) => (x.k === 'id' ? x.v.toLowerCase() : x.v));
    p.i = 1;
    if (words.includes('pitr') && v.pitr) return restorePitr(p, ctx);
    return restoreSnapshot(p, ctx, v.braceRestore);
  }
  throw parseError(sql, t, 0);
}
