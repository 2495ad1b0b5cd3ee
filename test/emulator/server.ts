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
 * Knobs (EmulatorOptions): the cluster's backend and config layout (cluster.ts), the server
 * version (version.ts: grammar and row formats), checksum-less rewritten rows (backup.ts).
 * The SQL front end is sql.ts, the BACKUP statement statement.ts. Nothing here imports src/.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import mysql from 'mysql2';
import { ensureLaunchFiles, type Layout } from './cluster.js';
import type { Backend } from './localfs.js';
import type { HakeeperState } from './logstore.js';
import { dirSink } from './sink.js';
import { runSql, SqlError } from './sql.js';
import { MoTree, type ObjectSize } from './tree.js';
import { mysqlVersion, serverVersion } from './version.js';

export { SYSTEM_DATABASES } from './sql.js';

const require = createRequire(import.meta.url);
// mysql2's Packet class, to send error packets with a real SQLSTATE (its writeError sends '#_____').
// (the package's exports map hides the subpath, so resolve it next to mysql2's entry point)
const Packet = require(join(dirname(require.resolve('mysql2')), 'lib', 'packets', 'packet.js')) as new (id: number, b: Buffer, s: number, e: number) => unknown;

export const DEFAULT_VERSION = '1.2.0';
/**
 * Defaults for a new home: what a default real cluster does. DISK everywhere with the configs
 * shipped up to v3.x (no [[fileservice]]: mo-data/shared and mo-data/local, CRC-framed), and
 * rewritten files listed without checksum.
 */
export const DEFAULT_BACKEND: Backend = 'DISK';
export const DEFAULT_LAYOUT: Layout = 'shipped';
export const DEFAULT_CHECKSUMLESS = true;
export const SERVER_VERSION = mysqlVersion(serverVersion(DEFAULT_VERSION));

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
  /**
   * SHARED/LOCAL backend of the configs written for a NEW home (default DISK, a default real
   * cluster). An existing home keeps its etc/launch: its configs decide, as for MatrixOne.
   */
  backend?: Backend;
  /** how those configs place the file services (cluster.ts; default 'shipped') */
  layout?: Layout;
  /** MatrixOne version emulated: grammar, row formats, `select version()` (default 1.2.0) */
  serverVersion?: string;
  /** tae_list rows of files the backup rewrites carry no checksum, as MatrixOne's (default true) */
  checksumless?: boolean;
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
  /** the log service's HAKeeper: did this start bootstrap, and restore IDs from hk_data? */
  hakeeper: HakeeperState;
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
  const server = serverVersion(opts.serverVersion ?? DEFAULT_VERSION);
  await ensureLaunchFiles(opts.home, opts.backend ?? DEFAULT_BACKEND, opts.layout ?? DEFAULT_LAYOUT);
  const tree = await MoTree.open(opts.home, opts.objectSize ?? { min: 100 << 10, max: 200 << 10 });
  const backupDirSink = (dir: string) => dirSink(dir, tree.sharedFs.backend);
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
  const mysqlServer = mysql.createServer((c) => {
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
      serverVersion: mysqlVersion(server),
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
    const execute = (sql: string) =>
      runSql(sql, {
        tree, locked, user: () => user!, db: () => currentDb, use: (d) => (currentDb = d),
        version: opts.versionString ?? mysqlVersion(server), server, dirSink: backupDirSink, checksumless: opts.checksumless ?? DEFAULT_CHECKSUMLESS,
      });
    conn.on('query', (sql: string) => void handle(sql));
    conn.on('stmt_prepare', (sql: string) => void handle(sql)); // mysql2 routes SET/PREPARE here
    conn.on('init_db', (db: string) => void handle(`use ${db}`));
    conn.on('error', () => sockets.delete(conn));
    conn.on('end', () => sockets.delete(conn));
  });
  const netServer = (mysqlServer as unknown as { _server: import('node:net').Server })._server; // mysql2 wraps a net.Server
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
    hakeeper: tree.hakeeper,
    simulateDay: (day) =>
      locked(async () => {
        const db = day.db ?? 'churn';
        if (!tree.catalog.has(db)) await tree.write([{ op: 'createdb', db }, { op: 'createtable', db, table: 't', cols: ['id', 'v'] }]);
        for (let i = 0; i < day.newObjects; i++) {
          const rows = Array.from({ length: day.rowsPerObject ?? 10 }, (_, j) => [Number(tree.hakeeper.allocate()) * 1000 + j, `row-${i}-${j}`]);
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

