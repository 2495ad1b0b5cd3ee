/**
 * The emulator's tiny SQL front end: the statements mobr and its tests send (show databases,
 * use, create/drop database and table, insert, select count(*), select version(), BACKUP).
 * Errors carry MatrixOne's codes (see server.ts); a statement the grammar rejects is
 * ER_PARSE_ERROR 1064 with MatrixOne's parser message (pkg/sql/parsers/dialect/mysql/
 * mysql_lexer.go Error, scanner.go PositionedErr).
 */
import { backupStmt } from './statement.js';
import { isSnapshotStmt, snapshotStmt } from './snapshot.js';
import type { MoTree, Op } from './tree.js';
import type { ServerVersion } from './version.js';
import type { Sink } from './sink.js';
import type { EmulatorUser } from './server.js';

export const SYSTEM_DATABASES = ['information_schema', 'mo_catalog', 'mo_debug', 'mo_task', 'mysql', 'system', 'system_metrics'];

export class SqlError extends Error {
  constructor(readonly errno: number, readonly sqlState: string, message: string) {
    super(message);
  }
}

export interface Ctx {
  /** what select version() answers */
  version: string;
  server: ServerVersion;
  /** the backup target of a FILESYSTEM statement (its format follows the cluster) */
  dirSink(dir: string): Sink;
  checksumless: boolean;
  tree: MoTree;
  locked: <T>(f: () => Promise<T>) => Promise<T>;
  user(): EmulatorUser;
  db(): string | undefined;
  use(db: string): void;
}

export type Result = { cols: string[]; rows: unknown[][] } | { affected: number } | undefined;

// ---------------------------------------------------------------- a tiny SQL front end

export type Tok = { k: 'id' | 'str' | 'num' | 'p'; v: string; pos: number; end: number };

export function lex(sql: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const pos = i;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw parseError(sql);
        const d = sql[i]!;
        if (d === '\\') { s += sql[i + 1] ?? ''; i += 2; continue; }
        if (d === c) {
          if (sql[i + 1] === c) { s += c; i += 2; continue; }
          i++;
          break;
        }
        s += d;
        i++;
      }
      out.push({ k: 'str', v: s, pos, end: i });
      continue;
    }
    if (c === '`') {
      const j = sql.indexOf('`', i + 1);
      if (j < 0) throw parseError(sql);
      i = j + 1;
      out.push({ k: 'id', v: sql.slice(pos + 1, j), pos, end: i });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(sql.slice(i));
    if (num && (c !== '-' || out.length === 0 || out[out.length - 1]!.k === 'p')) {
      i += num[0].length;
      out.push({ k: 'num', v: num[0], pos, end: i });
      continue;
    }
    const id = /^[A-Za-z_@$][\w@$.]*/.exec(sql.slice(i));
    if (id) {
      i += id[0].length;
      out.push({ k: 'id', v: id[0], pos, end: i });
      continue;
    }
    i++;
    out.push({ k: 'p', v: c, pos, end: i });
  }
  return out;
}

/** MatrixOne's parse error, near the token at `at` (or the end of the statement). */
export function parseError(sql: string, t?: Tok[], at?: number): SqlError {
  const tok = t && at !== undefined ? t[at] : undefined;
  const pos = tok ? tok.pos : t ? sql.length : 0;
  const col = tok ? tok.end : t ? sql.length : 0;
  return new SqlError(
    1064,
    'HY000',
    `SQL parser error: You have an error in your SQL syntax; check the manual that corresponds to your MatrixOne server version for the right syntax to use. syntax error at line 1 column ${col} near "${sql.slice(pos)}";`,
  );
}

export async function runSql(sql: string, ctx: Ctx): Promise<Result> {
  const t = lex(sql);
  const kw = (i: number) => (t[i]?.k === 'id' ? t[i]!.v.toLowerCase() : t[i]?.v);
  const words = t.map((x, i) => kw(i)).join(' ');
  const { tree } = ctx;
  const name = (i: number) => {
    if (t[i]?.k !== 'id') throw parseError(sql);
    return t[i]!.v;
  };
  const tableRef = (i: number): [string, string] => {
    const n = name(i);
    const dot = n.indexOf('.');
    if (dot >= 0) return [n.slice(0, dot), n.slice(dot + 1)];
    const db = ctx.db();
    if (!db) throw new SqlError(1046, '3D000', 'No database selected');
    return [db, n];
  };
  const needTable = (db: string, table: string) => {
    const d = tree.catalog.get(db);
    if (!d) throw new SqlError(1049, 'HY000', `Unknown database ${db}`);
    const tb = d.get(table);
    if (!tb) throw new SqlError(1146, 'HY000', `no such table ${db}.${table}`);
    return tb;
  };
  const write = (ops: Op[]) => ctx.locked(() => tree.write(ops));

  if (t.length === 0) return undefined;
  if (kw(0) === 'set' || kw(0) === 'begin' || kw(0) === 'commit' || kw(0) === 'rollback') return undefined;
  if (/^select (version|git_version|@@version_comment|@@version|1|database|current_user)\b/.test(words) && t.length <= 6) {
    const f = kw(1)!;
    const v =
      f === 'version' || f === '@@version' ? ctx.version
      : f === 'git_version' ? '0000000emulator'
      : f === '@@version_comment' ? 'MatrixOne'
      : f === 'database' ? ctx.db() ?? null
      : f === 'current_user' ? `${ctx.user().user}@%`
      : 1;
    const col = t.slice(1).map((x) => x.v).join('');
    return { cols: [col], rows: [[v]] };
  }
  if (words === 'show databases') {
    const all = [...new Set([...tree.catalog.keys(), ...SYSTEM_DATABASES])].sort();
    return { cols: ['Database'], rows: all.map((d) => [d]) };
  }
  if (words === 'show tables') {
    const db = ctx.db();
    if (!db) throw new SqlError(1046, '3D000', 'No database selected');
    return { cols: [`Tables_in_${db}`], rows: [...(tree.catalog.get(db)?.keys() ?? [])].sort().map((x) => [x]) };
  }
  if (kw(0) === 'use') {
    const db = name(1);
    if (!tree.catalog.has(db) && !SYSTEM_DATABASES.includes(db)) throw new SqlError(1049, 'HY000', `Unknown database ${db}`);
    ctx.use(db);
    return undefined;
  }
  if (kw(0) === 'create' && kw(1) === 'database') {
    const ine = kw(2) === 'if';
    const db = name(ine ? 5 : 2);
    if (tree.catalog.has(db) || SYSTEM_DATABASES.includes(db)) {
      if (ine) return undefined;
      throw new SqlError(1007, 'HY000', `database ${db} already exists`);
    }
    await write([{ op: 'createdb', db }]);
    return { affected: 1 };
  }
  if (kw(0) === 'drop' && kw(1) === 'database') {
    const ie = kw(2) === 'if';
    const db = name(ie ? 4 : 2);
    if (!tree.catalog.has(db)) {
      if (ie) return undefined;
      throw new SqlError(1008, 'HY000', `Can't drop database '${db}'; database doesn't exist`);
    }
    await write([{ op: 'dropdb', db }]);
    return { affected: 0 };
  }
  if (kw(0) === 'create' && kw(1) === 'table') {
    const ine = kw(2) === 'if';
    const [db, table] = tableRef(ine ? 5 : 2);
    if (!tree.catalog.has(db)) throw new SqlError(1049, 'HY000', `Unknown database ${db}`);
    if (tree.catalog.get(db)!.has(table)) {
      if (ine) return undefined;
      throw new SqlError(1050, 'HY000', `table ${table} already exists`);
    }
    const cols = columnNames(t.slice(ine ? 6 : 3), sql);
    await write([{ op: 'createtable', db, table, cols }]);
    return undefined;
  }
  if (kw(0) === 'drop' && kw(1) === 'table') {
    const ie = kw(2) === 'if';
    const [db, table] = tableRef(ie ? 4 : 2);
    if (!tree.catalog.get(db)?.has(table)) {
      if (ie) return undefined;
      throw new SqlError(1146, 'HY000', `no such table ${db}.${table}`);
    }
    await write([{ op: 'droptable', db, table }]);
    return undefined;
  }
  if (kw(0) === 'insert' && kw(1) === 'into') {
    const [db, table] = tableRef(2);
    const tb = needTable(db, table);
    let i = 3;
    if (t[i]?.v === '(') {
      while (i < t.length && t[i]!.v !== ')') i++;
      i++;
    }
    if (kw(i) !== 'values') throw parseError(sql);
    const rows = valueTuples(t.slice(i + 1), sql);
    for (const r of rows) if (r.length !== tb.cols.length) throw new SqlError(20301, 'HY000', 'invalid input: Column count doesn\'t match value count');
    await write([{ op: 'insert', db, table, rows }]);
    return { affected: rows.length };
  }
  if (/^select count \( \* \) from /.test(words)) {
    const [db, table] = tableRef(6);
    return { cols: ['count(*)'], rows: [[needTable(db, table).rows.length]] };
  }
  if (kw(0) === 'backup') return backupStmt(t, sql, ctx);
  if (isSnapshotStmt(words)) return snapshotStmt(t, sql, ctx);
  throw parseError(sql);
}

function columnNames(t: Tok[], sql: string): string[] {
  if (t[0]?.v !== '(') throw parseError(sql);
  const cols: string[] = [];
  let depth = 0;
  let start = true;
  for (const x of t.slice(1)) {
    if (x.v === '(') depth++;
    else if (x.v === ')') {
      if (depth === 0) break;
      depth--;
    } else if (x.v === ',' && depth === 0) start = true;
    else if (start) {
      start = false;
      const w = x.v.toLowerCase();
      if (!['primary', 'key', 'index', 'unique', 'constraint', 'foreign'].includes(w)) cols.push(x.v);
    }
  }
  if (cols.length === 0) throw parseError(sql);
  return cols;
}

function valueTuples(t: Tok[], sql: string): unknown[][] {
  const rows: unknown[][] = [];
  let i = 0;
  while (i < t.length) {
    if (t[i]!.v !== '(') throw parseError(sql);
    i++;
    const row: unknown[] = [];
    while (i < t.length && t[i]!.v !== ')') {
      const x = t[i]!;
      if (x.k === 'str') row.push(x.v);
      else if (x.k === 'num') row.push(Number(x.v));
      else if (x.k === 'id' && x.v.toLowerCase() === 'null') row.push(null);
      else if (x.k === 'id') row.push(x.v);
      else throw parseError(sql);
      i++;
      if (t[i]?.v === ',') i++;
    }
    if (t[i]?.v !== ')') throw parseError(sql);
    i++;
    rows.push(row);
    if (t[i]?.v === ',') i++;
  }
  if (rows.length === 0) throw parseError(sql);
  return rows;
}

