/**
 * EMULATOR of a MatrixOne server for mobr's tests: MatrixOne cannot run here. It speaks the
 * MySQL protocol (mysql2's server side) on 127.0.0.1 and answers the few statements mobr and
 * its tests send, keeping ALL state in `<home>/mo-data` (see tree.ts). Where MatrixOne's source
 * and this emulator disagree, the source wins. Behaviour followed (matrixorigin/matrixone):
 *  - pkg/frontend/util.go RewriteError + mysql_protocol.go: a wrong password is MySQL error 1045,
 *    SQLSTATE 28000, "Access denied for user <u>. internal error: check password failed".
 *  - pkg/frontend/authenticate.go: BACKUP needs the sys tenant; otherwise error 20101 (moerr
 *    ErrInternal, sent as its MO code because its MySQL code is ER_UNKNOWN_ERROR), SQLSTATE HY000,
 *    "internal error: do not have privilege to execute the statement".
 *  - pkg/frontend/backup.go, self_handle.go: BACKUP answers a plain OK when done.
 *  - pkg/config/configuration.go: server version `8.0.30-MatrixOne-v<version>`.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import mysql from 'mysql2';
import { BackupError, dirSink, runBackup, s3Sink, type S3Opts } from './backup.js';
import { MoTree, type ObjectSize, type Op } from './tree.js';

const require = createRequire(import.meta.url);
// mysql2's Packet class, to send error packets with a real SQLSTATE (its writeError sends '#_____').
// (the package's exports map hides the subpath, so resolve it next to mysql2's entry point)
const Packet = require(join(dirname(require.resolve('mysql2')), 'lib', 'packets', 'packet.js')) as new (id: number, b: Buffer, s: number, e: number) => unknown;

export const SERVER_VERSION = '8.0.30-MatrixOne-v1.2.0';
export const SYSTEM_DATABASES = ['information_schema', 'mo_catalog', 'mo_debug', 'mo_task', 'mysql', 'system', 'system_metrics'];

export interface EmulatorUser {
  user: string;
  password: string;
  /** sys-tenant user allowed to run BACKUP (MatrixOne: only the sys tenant may) */
  canBackup: boolean;
}

export interface EmulatorOptions {
  home: string;
  port?: number;
  user?: string;
  password?: string;
  /** extra users, e.g. one without backup privilege */
  users?: EmulatorUser[];
  /** size range of each new object file in bytes (default 100 KiB..200 KiB) */
  objectSize?: ObjectSize;
  /** Test knob: answer `select version()` as a plain MySQL server would (mobr must refuse it). */
  versionString?: string;
}

export interface ChurnDay {
  newObjects: number;
  mergeCount?: number;
  gc?: boolean;
  db?: string;
  rowsPerObject?: number;
}

export interface Emulator {
  host: string;
  port: number;
  home: string;
  tree: MoTree;
  /** one day of churn: writes, a merge of the oldest objects, an optional GC */
  simulateDay(day: ChurnDay): Promise<void>;
  close(): Promise<void>;
}

interface Conn {
  writeOk(args?: { affectedRows?: number }): void;
  writeColumns(cols: unknown[]): void;
  writeTextRow(row: unknown[]): void;
  writeEof(): void;
  writePacket(p: unknown): void;
  serverHandshake(args: unknown): void;
  on(ev: string, f: (...a: never[]) => void): void;
  close(): void;
  stream: { destroy(): void; end(): void };
}

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const tree = await MoTree.open(opts.home, opts.objectSize ?? { min: 100 << 10, max: 200 << 10 });
  const users = new Map<string, EmulatorUser>();
  users.set(opts.user ?? 'dump', { user: opts.user ?? 'dump', password: opts.password ?? '111', canBackup: true });
  for (const u of opts.users ?? []) users.set(u.user, u);
  // serialize every state change and backup, like MatrixOne's backup protection against GC
  let chain: Promise<unknown> = Promise.resolve();
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const r = chain.then(f);
    chain = r.catch(() => undefined);
    return r;
  };
  const sockets = new Set<Conn>();
  let connId = 1;
  const server = mysql.createServer((c) => {
    const conn = c as unknown as Conn;
    sockets.add(conn);
    // mysql2's server side never restarts its sequence id when a new command arrives (the client
    // starts each command at 0); do that here so replies carry the ids a MySQL client expects.
    const raw = conn as unknown as { handlePacket(p?: { sequenceId: number }): void; sequenceId: number };
    const handlePacket = raw.handlePacket.bind(raw);
    raw.handlePacket = (p) => {
      if (p && p.sequenceId === 0) raw.sequenceId = 0;
      handlePacket(p);
    };
    let user: EmulatorUser | undefined;
    let currentDb: string | undefined;
    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: SERVER_VERSION,
      connectionId: connId++,
      statusFlags: 2,
      characterSet: 45,
      capabilityFlags: 0xf7ff & ~0x0800, // no SSL
      authCallback: (
        p: { user: string; authPluginData1: Buffer; authPluginData2: Buffer; authToken: Buffer },
        cb: (err: unknown, mysqlErr?: unknown) => void,
      ) => {
        const u = users.get(p.user);
        if (u && checkToken(u.password, p.authPluginData1, p.authPluginData2, p.authToken)) {
          user = u;
          cb(null);
          return;
        }
        sendError(conn, 1045, '28000', `Access denied for user ${p.user}. internal error: check password failed`);
        setImmediate(() => conn.stream.end());
      },
    });
    const handle = async (sql: string) => {
      try {
        const r = await execute(sql.trim().replace(/;\s*$/, ''));
        if (r && 'rows' in r) writeRows(conn, r.cols, r.rows);
        else conn.writeOk({ affectedRows: r?.affected ?? 0 });
      } catch (e) {
        if (e instanceof SqlError) sendError(conn, e.errno, e.sqlState, e.message);
        else sendError(conn, 20101, 'HY000', `internal error: ${(e as Error).message}`);
      }
    };
    const execute = (sql: string) => runSql(sql, { tree, locked, user: () => user!, db: () => currentDb, use: (d) => (currentDb = d), version: opts.versionString ?? SERVER_VERSION });
    conn.on('query', (sql: string) => void handle(sql));
    conn.on('stmt_prepare', (sql: string) => void handle(sql)); // mysql2 routes SET/PREPARE here
    conn.on('init_db', (db: string) => void handle(`use ${db}`));
    conn.on('error', () => sockets.delete(conn));
    conn.on('end', () => sockets.delete(conn));
  });
  const netServer = (server as unknown as { _server: import('node:net').Server })._server; // mysql2 wraps a net.Server
  await new Promise<void>((resolve, reject) => {
    netServer.once('error', reject);
    netServer.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (netServer.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    home: opts.home,
    tree,
    simulateDay: (day) =>
      locked(async () => {
        const db = day.db ?? 'churn';
        if (!tree.catalog.has(db)) await tree.write([{ op: 'createdb', db }, { op: 'createtable', db, table: 't', cols: ['id', 'v'] }]);
        for (let i = 0; i < day.newObjects; i++) {
          const rows = Array.from({ length: day.rowsPerObject ?? 10 }, (_, j) => [tree.nextID * 1000 + j, `row-${i}-${j}`]);
          await tree.write([{ op: 'insert', db, table: 't', rows }]);
        }
        if (day.mergeCount) await tree.merge(day.mergeCount);
        if (day.gc) await tree.gc();
      }),
    async close() {
      for (const s of sockets) s.stream.destroy();
      await new Promise<void>((r) => netServer.close(() => r()));
      await chain;
    },
  };
}

/** mysql_native_password: token = SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty pw = empty token. */
function checkToken(password: string, s1: Buffer, s2: Buffer, token: Buffer): boolean {
  if (password === '') return token.length === 0;
  if (token.length !== 20) return false;
  const sha1 = (...b: Buffer[]) => createHash('sha1').update(Buffer.concat(b)).digest();
  const stage1 = sha1(Buffer.from(password));
  const expect = sha1(Buffer.concat([s1, s2]).subarray(0, 20), sha1(stage1));
  for (let i = 0; i < 20; i++) expect[i]! ^= stage1[i]!;
  return expect.equals(token);
}

function sendError(conn: Conn, errno: number, sqlState: string, message: string): void {
  const msg = Buffer.from(message, 'utf8');
  const body = Buffer.concat([Buffer.from([0xff, errno & 0xff, (errno >> 8) & 0xff]), Buffer.from(`#${sqlState}`), msg]);
  const buf = Buffer.concat([Buffer.alloc(4), body]);
  conn.writePacket(new Packet(0, buf, 0, buf.length));
}

function writeRows(conn: Conn, cols: string[], rows: unknown[][]): void {
  // BIGINT (8) for numeric columns so clients decode numbers, VARCHAR (253) otherwise
  const isNum = cols.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  conn.writeColumns(
    cols.map((name, i) => ({
      catalog: 'def', schema: '', table: '', orgTable: '', name, orgName: name,
      characterSet: isNum[i] ? 63 : 45, columnLength: isNum[i] ? 21 : 1024, columnType: isNum[i] ? 8 : 253, flags: 0, decimals: 0,
    })),
  );
  for (const r of rows) conn.writeTextRow(r.map((v) => (v === null || v === undefined ? null : String(v))));
  conn.writeEof();
}

class SqlError extends Error {
  constructor(readonly errno: number, readonly sqlState: string, message: string) {
    super(message);
  }
}

interface Ctx {
  version: string;
  tree: MoTree;
  locked: <T>(f: () => Promise<T>) => Promise<T>;
  user(): EmulatorUser;
  db(): string | undefined;
  use(db: string): void;
}

type Result = { cols: string[]; rows: unknown[][] } | { affected: number } | undefined;

// ---------------------------------------------------------------- a tiny SQL front end

type Tok = { k: 'id' | 'str' | 'num' | 'p'; v: string };

function lex(sql: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
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
      out.push({ k: 'str', v: s });
      continue;
    }
    if (c === '`') {
      const j = sql.indexOf('`', i + 1);
      if (j < 0) throw parseError(sql);
      out.push({ k: 'id', v: sql.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(sql.slice(i));
    if (num && (c !== '-' || out.length === 0 || out[out.length - 1]!.k === 'p')) {
      out.push({ k: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_@$][\w@$.]*/.exec(sql.slice(i));
    if (id) {
      out.push({ k: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    out.push({ k: 'p', v: c });
    i++;
  }
  return out;
}

function parseError(sql: string): SqlError {
  return new SqlError(20301, 'HY000', `invalid input: SQL parser error: near "${sql.slice(0, 40)}"`);
}

async function runSql(sql: string, ctx: Ctx): Promise<Result> {
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

/** BACKUP '<ts>' FILESYSTEM '<dir>' PARALLELISM '<n>' | S3OPTION {...} [TYPE '<t>'] [TIMESTAMP '<ts>'] */
async function backupStmt(t: Tok[], sql: string, ctx: Ctx): Promise<Result> {
  const kw = (i: number) => t[i]?.v.toLowerCase();
  if (t[1]?.k !== 'str') throw parseError(sql);
  let i = 2;
  let sink;
  if (kw(i) === 'filesystem' && t[i + 1]?.k === 'str' && kw(i + 2) === 'parallelism' && t[i + 3]?.k === 'str') {
    const dir = t[i + 1]!.v;
    if (!/^\d+$/.test(t[i + 3]!.v)) throw new SqlError(20101, 'HY000', `internal error: strconv.ParseUint: parsing "${t[i + 3]!.v}": invalid syntax`);
    if (dir === '') throw new SqlError(20411, 'HY000', 'invalid file path ');
    sink = dirSink(dir);
    i += 4;
  } else if (kw(i) === 's3option' && t[i + 1]?.v === '{') {
    i += 2;
    const o: Record<string, string> = {};
    while (t[i] && t[i]!.v !== '}') {
      if (t[i]!.k !== 'str' || t[i + 1]?.v !== '=' || t[i + 2]?.k !== 'str') throw parseError(sql);
      o[t[i]!.v.toLowerCase()] = t[i + 2]!.v;
      i += 3;
      if (t[i]?.v === ',') i++;
    }
    if (t[i]?.v !== '}') throw parseError(sql);
    i++;
    for (const k of Object.keys(o)) {
      if (!['endpoint', 'region', 'access_key_id', 'secret_access_key', 'bucket', 'filepath', 'compression', 'provider', 'role_arn', 'external_id', 'is_minio', 'parallelism'].includes(k)) {
        throw new SqlError(20300, 'HY000', `invalid configuration: the keyword '${k}' is not support`);
      }
    }
    sink = s3Sink(o as unknown as S3Opts);
  } else throw parseError(sql);
  let type = '';
  let baseTS: string | undefined;
  if (kw(i) === 'type' && t[i + 1]?.k === 'str') { type = t[i + 1]!.v; i += 2; }
  if (kw(i) === 'timestamp' && t[i + 1]?.k === 'str') { baseTS = t[i + 1]!.v; i += 2; }
  if (i !== t.length) throw parseError(sql);
  if (!ctx.user().canBackup) throw new SqlError(20101, 'HY000', 'internal error: do not have privilege to execute the statement');
  if (baseTS !== undefined && !/^\d+-\d+$/.test(baseTS)) throw new SqlError(20101, 'HY000', 'internal error: format of ts must be physical-logical');
  try {
    await ctx.locked(() => runBackup(ctx.tree, sink, { type, baseTS: baseTS || undefined }));
  } catch (e) {
    if (e instanceof BackupError) throw new SqlError(e.errno, 'HY000', e.message);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') throw new SqlError(20406, 'HY000', `file ${err.path ?? ''} already exists`);
    if (err.code) throw new SqlError(20101, 'HY000', `internal error: ${err.code} ${err.path ?? ''}`.trim());
    throw new SqlError(20101, 'HY000', `internal error: ${err.message}`);
  }
  return undefined;
}
