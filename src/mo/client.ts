/**
 * A small MatrixOne client over mysql2/promise: connect, confirm the server is MatrixOne, run
 * MatrixOne's BACKUP statement (spec/matrixone.md, "The statement").
 *
 * What the real server does with BACKUP (matrixorigin/matrixone pkg/frontend/self_handle.go,
 * backup.go; pkg/backup/backup.go): it runs the whole backup inside the statement and answers
 * a plain OK packet, no result set, or an error. The first string ('<ts>', tree.BackupStart
 * .Timestamp) is parsed but never read by pkg/backup. The backup timestamp (BACKUPTS in
 * `mo_br list`) is not returned: it is the third field of `tae/tae_sum`, written by the server
 * (pkg/backup/tae.go execBackup: the checkpoint start TS from `mo_ctl('dn','Backup','')`), so a
 * caller reads it from the target after the statement returns (see layout.ts parseTaeSum).
 *
 * Failures become one-line MobrErrors; messages never contain the password or S3 secrets.
 */
import type { Connection } from 'mysql2/promise';
import { MobrError, checkAborted } from '../errors.js';
import { maskSecrets } from '../util/mask.js';

export interface ConnectOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** connect timeout in ms (default 10 s) */
  timeoutMs?: number;
}

export interface S3Target {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  filepath: string;
  region?: string;
  compression?: string;
  roleArn?: string;
  isMinio?: boolean;
  parallelism?: number;
}

export interface BackupRequest {
  /** filesystem directory on the server's host, or an S3 target */
  target: { kind: 'filesystem'; dir: string; parallelism?: number } | ({ kind: 's3' } & S3Target);
  /** incremental relative to an earlier backup's BACKUPTS (`<physical>-<logical>`) */
  incrementalFrom?: string;
  /** the statement's first string; MatrixOne ignores it (default '') */
  label?: string;
  /** `select version()` of the server; decides the statement's form (default: the newest) */
  serverVersion?: string;
}

/** What the BACKUP grammar of a server release accepts (rule backup_stmt in mysql_sql.y). */
export interface BackupDialect {
  /** `PARALLELISM '<n>'` after FILESYSTEM (mandatory from v1.1.2, a syntax error before) and the S3 key 'parallelism' (unknown before v1.1.2) */
  parallelism: boolean;
  /** `TYPE '<t>' TIMESTAMP '<ts>'` (v1.2.0 on) */
  incremental: boolean;
  /** 'is_minio'='<bool>' is parsed (v1.1.2 on); before, the key alone means true whatever its value */
  isMinioValue: boolean;
}

/** The release of `8.0.30-MatrixOne-v1.2.0` (also with suffixes like `-hotfix-…`), or undefined. */
export function parseServerVersion(v: string): [number, number, number] | undefined {
  const m = /MatrixOne-v?(\d+)\.(\d+)\.(\d+)/i.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** The statement dialect of a server; an unknown version is taken as the newest. */
export function backupDialect(serverVersion?: string): BackupDialect {
  const v = serverVersion === undefined ? undefined : parseServerVersion(serverVersion);
  const atLeast = (a: number, b: number, c: number) => !v || v[0] > a || (v[0] === a && (v[1] > b || (v[1] === b && v[2] >= c)));
  return { parallelism: atLeast(1, 1, 2), incremental: atLeast(1, 2, 0), isMinioValue: atLeast(1, 1, 2) };
}

/** SQL string literal with MySQL escaping of quote and backslash. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Builds MatrixOne's BACKUP statement (grammar rule backup_stmt in mysql_sql.y) for the server's release. */
export function buildBackupStatement(req: BackupRequest): string {
  const d = backupDialect(req.serverVersion);
  let sql = `BACKUP ${sqlString(req.label ?? '')} `;
  const t = req.target;
  if (t.kind === 'filesystem') {
    sql += `FILESYSTEM ${sqlString(t.dir)}`;
    if (d.parallelism) sql += ` PARALLELISM ${sqlString(String(t.parallelism ?? 1))}`;
  } else {
    const opts: [string, string][] = [
      ['endpoint', t.endpoint],
      ['access_key_id', t.accessKeyId],
      ['secret_access_key', t.secretAccessKey],
      ['bucket', t.bucket],
      ['filepath', t.filepath],
    ];
    if (t.region !== undefined) opts.push(['region', t.region]);
    if (t.compression !== undefined) opts.push(['compression', t.compression]);
    if (t.roleArn !== undefined) opts.push(['role_arn', t.roleArn]);
    if (t.isMinio !== undefined && (t.isMinio || d.isMinioValue)) opts.push(['is_minio', String(t.isMinio)]);
    if (t.parallelism !== undefined && d.parallelism) opts.push(['parallelism', String(t.parallelism)]);
    sql += `S3OPTION {${opts.map(([k, v]) => `${sqlString(k)}=${sqlString(v)}`).join(', ')}}`;
  }
  if (req.incrementalFrom !== undefined) {
    if (!d.incremental) throw new MobrError('BAD_INPUT', `MatrixOne ${req.serverVersion} has no incremental backup (TYPE/TIMESTAMP came with v1.2.0); take a full backup`);
    sql += ` TYPE 'incremental' TIMESTAMP ${sqlString(req.incrementalFrom)}`;
  }
  return sql;
}

export interface MoClient {
  /** `select version()`, e.g. `8.0.30-MatrixOne-v1.2.0` */
  version(): Promise<string>;
  /**
   * Runs BACKUP; resolves when the server has written the whole backup. The signal stops the wait:
   * the connection is closed at once and the call fails with the signal's reason.
   */
  backup(req: BackupRequest, signal?: AbortSignal): Promise<void>;
  /** Plain query; rows as objects. `what` names it in an error (default 'query'); `secrets` never appear in one. */
  query(sql: string, what?: string, secrets?: string[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Connects and confirms the server is MatrixOne (NOT_MATRIXONE otherwise). */
export async function connect(opts: ConnectOptions): Promise<MoClient> {
  const where = `${opts.host}:${opts.port}`;
  const secrets = [opts.password];
  let conn: Connection;
  try {
    // mysql2 loads here, on the first connection (~0.1 CPU-s), not with every command that
    // imports this module (a cold --data_dir backup never connects)
    const { default: mysql } = await import('mysql2/promise');
    conn = await mysql.createConnection({
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      connectTimeout: opts.timeoutMs ?? 10_000,
      multipleStatements: false,
    });
  } catch (e) {
    throw mapError(e, where, opts.user, secrets, 'connect');
  }
  const run = async (sql: string, what: string, extraSecrets: string[] = []) => {
    try {
      const [rows] = await conn.query(sql);
      return rows;
    } catch (e) {
      throw mapError(e, where, opts.user, [...secrets, ...extraSecrets], what);
    }
  };
  const client: MoClient = {
    async version() {
      const rows = (await run('select version()', 'select version()')) as Record<string, unknown>[];
      const v = rows[0] ? Object.values(rows[0])[0] : undefined;
      return typeof v === 'string' ? v : String(v ?? '');
    },
    async backup(req, signal) {
      const s = req.target.kind === 's3' ? [req.target.secretAccessKey, req.target.accessKeyId] : [];
      checkAborted(signal);
      const stop = () => conn.destroy(); // the statement's wait ends with a closed connection
      signal?.addEventListener('abort', stop, { once: true });
      try {
        await run(buildBackupStatement(req), 'backup', s.filter((x) => x !== ''));
      } catch (e) {
        checkAborted(signal); // stopped by us: the signal's reason, not "connection lost"
        throw e;
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    },
    async query(sql, what = 'query', extra = []) {
      const rows = await run(sql, what, extra.filter((x) => x !== ''));
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    async close() {
      await conn.end().catch(() => conn.destroy());
    },
  };
  let version: string;
  try {
    version = await client.version();
  } catch (e) {
    await client.close();
    if (e instanceof MobrError && e.code === 'SERVER_ERROR') {
      throw new MobrError('NOT_MATRIXONE', `the server at ${where} is not MatrixOne (select version() failed)`, { cause: e });
    }
    throw e;
  }
  if (!/matrixone/i.test(version)) {
    await client.close();
    throw new MobrError('NOT_MATRIXONE', `the server at ${where} is not MatrixOne (version ${JSON.stringify(version.slice(0, 80))})`);
  }
  return client;
}

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  PROTOCOL_CONNECTION_LOST: 'connection lost',
};

/** Maps a mysql2 / socket error to a one-line MobrError with no secrets in it. */
export function mapError(e: unknown, where: string, user: string, secrets: string[], what: string): MobrError {
  const err = e as { code?: string; errno?: number; message?: string; sqlMessage?: string };
  const scrub = (s: string) => {
    return maskSecrets(s.replace(/[\r\n]+/g, ' '), secrets).slice(0, 300);
  };
  if (err?.code && UNREACHABLE_CODES[err.code]) {
    return new MobrError('UNREACHABLE', `cannot connect to MatrixOne at ${where}: ${UNREACHABLE_CODES[err.code]}`, { cause: e });
  }
  const raw = err?.sqlMessage ?? err?.message ?? String(e);
  const msg = scrub(raw);
  const errno = err?.errno;
  if (errno === 1045) return new MobrError('AUTH_FAILED', `MatrixOne at ${where} rejected user ${user}: wrong user or password`);
  if (errno === 1044 || errno === 1142 || errno === 1227 || /do not have privilege/i.test(raw)) {
    return new MobrError('ACCESS_DENIED', `user ${user} may not run ${what} on MatrixOne at ${where}: ${msg}`);
  }
  if (typeof errno === 'number') return new MobrError('SERVER_ERROR', `${what} on MatrixOne at ${where} failed (error ${errno}): ${msg}`);
  return new MobrError('UNREACHABLE', `cannot talk to MatrixOne at ${where}: ${msg}`, { cause: e });
}
