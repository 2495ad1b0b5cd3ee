/**
 * A MySQL-protocol server on 127.0.0.1 that plays a MatrixOne BACKUP with a layout the test wrote
 * by hand: it answers `select version()` with the configured version string, parses each BACKUP
 * statement with the grammar of that release (rule backup_stmt of
 * pkg/sql/parsers/dialect/mysql/mysql_sql.y: no PARALLELISM before v1.1.2, mandatory from then;
 * TYPE/TIMESTAMP from v1.2.0; a statement the release cannot parse gets MatrixOne's syntax error
 * 1064), records it, and writes the next prepared layout (path -> bytes, exactly as given) into
 * the FILESYSTEM folder or the S3OPTION bucket/filepath.
 *
 * It checks no password (any user is let in): the tests using it are about what mobr does with
 * the files a real server writes, not about logging in (test/emulator covers that). Nothing here
 * imports src/.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { dirname, join } from 'node:path';
import mysql from 'mysql2';

const require = createRequire(import.meta.url);
const Packet = require(join(dirname(require.resolve('mysql2')), 'lib', 'packets', 'packet.js')) as new (id: number, b: Buffer, s: number, e: number) => unknown;

/** What one BACKUP statement asked for. */
export interface ReplayedBackup {
  sql: string;
  target: { kind: 'filesystem'; dir: string; parallelism?: string } | { kind: 's3'; options: Record<string, string> };
  type?: string;
  timestamp?: string;
}

export type Layout = Record<string, Uint8Array | string>;

export interface ReplayServer {
  host: string;
  port: number;
  /** every BACKUP statement received, in order */
  statements: ReplayedBackup[];
  /** queues the layout the next BACKUP writes (a function sees the request) */
  next(layout: Layout | ((req: ReplayedBackup) => Layout)): void;
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
  stream: { destroy(): void };
}

const STR = String.raw`'((?:[^'\\]|\\.)*)'`;

export async function startReplayServer(version = '8.0.30-MatrixOne-v1.2.0'): Promise<ReplayServer> {
  const queue: (Layout | ((req: ReplayedBackup) => Layout))[] = [];
  const statements: ReplayedBackup[] = [];
  const sockets = new Set<Conn>();
  const release = /MatrixOne-v(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number) ?? [99, 0, 0];
  const atLeast = (a: number, b: number, c: number) => release[0]! * 1e6 + release[1]! * 1e3 + release[2]! >= a * 1e6 + b * 1e3 + c;

  const parse = (sql: string): ReplayedBackup | undefined => {
    const fs = new RegExp(`^BACKUP ${STR} FILESYSTEM ${STR}(?: PARALLELISM ${STR})?(?: TYPE ${STR})?(?: TIMESTAMP ${STR})?$`, 'i').exec(sql);
    const s3 = new RegExp(`^BACKUP ${STR} S3OPTION \\{(.*)\\}(?: TYPE ${STR})?(?: TIMESTAMP ${STR})?$`, 'is').exec(sql);
    const unq = (s: string | undefined) => s?.replace(/\\(.)/g, '$1');
    let r: ReplayedBackup | undefined;
    if (fs) {
      if ((fs[3] !== undefined) !== atLeast(1, 1, 2)) return undefined; // PARALLELISM: a syntax error before v1.1.2, mandatory after
      r = { sql, target: { kind: 'filesystem', dir: unq(fs[2])!, parallelism: unq(fs[3]) }, type: unq(fs[4]), timestamp: unq(fs[5]) };
    } else if (s3) {
      const options: Record<string, string> = {};
      for (const m of s3[2]!.matchAll(new RegExp(`${STR}\\s*=\\s*${STR}`, 'g'))) options[unq(m[1])!.toLowerCase()] = unq(m[2])!;
      r = { sql, target: { kind: 's3', options }, type: unq(s3[3]), timestamp: unq(s3[4]) };
    }
    if (r && (r.type !== undefined || r.timestamp !== undefined) && !atLeast(1, 2, 0)) return undefined;
    return r;
  };

  const write = async (req: ReplayedBackup, layout: Layout) => {
    if (req.target.kind === 'filesystem') {
      for (const [rel, data] of Object.entries(layout)) {
        const p = join(req.target.dir, ...rel.split('/'));
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, data);
      }
      return;
    }
    const o = req.target.options;
    const s3 = new S3Client({ endpoint: o.endpoint, region: o.region || 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: o.access_key_id!, secretAccessKey: o.secret_access_key! } });
    try {
      for (const [rel, data] of Object.entries(layout)) {
        await s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: [o.filepath, rel].filter((x) => x).join('/'), Body: typeof data === 'string' ? Buffer.from(data) : data }));
      }
    } finally {
      s3.destroy();
    }
  };

  const server = mysql.createServer((c) => {
    const conn = c as unknown as Conn;
    sockets.add(conn);
    // mysql2's server never restarts its sequence id per command; a client starts each at 0
    const raw = conn as unknown as { handlePacket(p?: { sequenceId: number }): void; sequenceId: number };
    const handlePacket = raw.handlePacket.bind(raw);
    raw.handlePacket = (p) => {
      if (p && p.sequenceId === 0) raw.sequenceId = 0;
      handlePacket(p);
    };
    conn.serverHandshake({
      protocolVersion: 10, serverVersion: version, connectionId: 1, statusFlags: 2, characterSet: 45, capabilityFlags: 0xf7ff & ~0x0800,
      authCallback: (_p: unknown, cb: (err: unknown) => void) => cb(null),
    });
    const handle = async (text: string) => {
      const sql = text.trim().replace(/;\s*$/, '');
      try {
        if (/^select version\(\)$/i.test(sql)) return rows(conn, 'version()', version);
        if (!/^backup /i.test(sql)) return conn.writeOk();
        const req = parse(sql);
        if (!req) return sendError(conn, 1064, '42000', `SQL parser error: You have an error in your SQL syntax; check the manual near ${JSON.stringify(sql.slice(0, 40))}`);
        statements.push(req);
        const next = queue.shift();
        if (!next) return sendError(conn, 20101, 'HY000', 'internal error: replay server has no layout queued');
        await write(req, typeof next === 'function' ? next(req) : next);
        conn.writeOk();
      } catch (e) {
        sendError(conn, 20101, 'HY000', `internal error: ${(e as Error).message}`);
      }
    };
    conn.on('query', (sql: string) => void handle(sql));
    conn.on('error', () => sockets.delete(conn));
    conn.on('end', () => sockets.delete(conn));
  });
  const net = (server as unknown as { _server: Server })._server;
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    host: '127.0.0.1',
    port: (net.address() as AddressInfo).port,
    statements,
    next: (l) => void queue.push(l),
    async close() {
      for (const s of sockets) s.stream.destroy();
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
}

function rows(conn: Conn, col: string, value: string): void {
  conn.writeColumns([{ catalog: 'def', schema: '', table: '', orgTable: '', name: col, orgName: col, characterSet: 45, columnLength: 1024, columnType: 253, flags: 0, decimals: 0 }]);
  conn.writeTextRow([value]);
  conn.writeEof();
}

function sendError(conn: Conn, errno: number, sqlState: string, message: string): void {
  const body = Buffer.concat([Buffer.from([0xff, errno & 0xff, (errno >> 8) & 0xff]), Buffer.from(`#${sqlState}`), Buffer.from(message, 'utf8')]);
  const buf = Buffer.concat([Buffer.alloc(4), body]);
  conn.writePacket(new Packet(0, buf, 0, buf.length));
}
