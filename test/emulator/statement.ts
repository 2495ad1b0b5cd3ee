/**
 * The BACKUP statement as each MatrixOne grammar takes it (mysql_sql.y, rule backup_stmt; see
 * version.ts), then its execution (pkg/frontend: only the sys tenant may; pkg/backup/utils.go
 * getS3Config for the S3 keys; backup.go: PARALLELISM parsed as a uint16):
 *   v1.0–v1.1.1  BACKUP '<s>' FILESYSTEM '<dir>'            | BACKUP '<s>' S3OPTION {…}
 *   v1.1.2       BACKUP '<s>' FILESYSTEM '<dir>' PARALLELISM '<n>' | … S3OPTION {…}
 *   v1.2.0+      both forms, then [TYPE '<t>'] [TIMESTAMP '<ts>']
 */
import { BackupError, runBackup } from './backup.js';
import { s3Sink, type S3Opts, type Sink } from './sink.js';
import { parseError, SqlError, type Ctx, type Result, type Tok } from './sql.js';

const S3_KEYS = ['endpoint', 'region', 'access_key_id', 'secret_access_key', 'bucket', 'filepath', 'compression', 'provider', 'role_arn', 'external_id', 'format', 'jsondata', 'is_minio', 'parallelism'];

export async function backupStmt(t: Tok[], sql: string, ctx: Ctx): Promise<Result> {
  const v = ctx.server;
  const kw = (i: number) => (t[i]?.k === 'id' ? t[i]!.v.toLowerCase() : undefined);
  const str = (i: number) => {
    if (t[i]?.k !== 'str') throw parseError(sql, t, i);
    return t[i]!.v;
  };
  str(1);
  let i = 2;
  let sink: Sink;
  let parallelism: string | undefined;
  if (kw(i) === 'filesystem') {
    const dir = str(i + 1);
    i += 2;
    if (v.parallelism) {
      if (kw(i) !== 'parallelism') throw parseError(sql, t, i);
      parallelism = str(i + 1);
      i += 2;
    }
    if (dir === '') throw new SqlError(20411, 'HY000', 'invalid file path ');
    sink = ctx.dirSink(dir);
  } else if (kw(i) === 's3option') {
    if (t[i + 1]?.v !== '{') throw parseError(sql, t, i + 1);
    i += 2;
    const o: Record<string, string> = {};
    while (t[i] && t[i]!.v !== '}') {
      const k = str(i);
      if (t[i + 1]?.v !== '=') throw parseError(sql, t, i + 1);
      o[k.toLowerCase()] = str(i + 2);
      i += 3;
      if (t[i]?.v === ',') i++;
    }
    if (t[i]?.v !== '}') throw parseError(sql, t, i);
    i++;
    for (const k of Object.keys(o)) {
      if (!S3_KEYS.includes(k)) throw new SqlError(20300, 'HY000', `invalid configuration: the keyword '${k}' is not support`);
    }
    if (o.is_minio !== undefined && !['true', 'false'].includes(o.is_minio.toLowerCase())) {
      throw new SqlError(20300, 'HY000', `invalid configuration: the is_minio '${o.is_minio.toLowerCase()}' is not supported`);
    }
    sink = s3Sink(o as unknown as S3Opts);
  } else throw parseError(sql, t, i);
  let type = '';
  let baseTS = '';
  if (v.incremental) {
    if (kw(i) === 'type') { type = str(i + 1); i += 2; }
    if (kw(i) === 'timestamp') { baseTS = str(i + 1); i += 2; }
  }
  if (i !== t.length) throw parseError(sql, t, i);
  if (!ctx.user().canBackup) throw new SqlError(20101, 'HY000', 'internal error: do not have privilege to execute the statement');
  if (parallelism !== undefined && !/^\d+$/.test(parallelism)) {
    throw new SqlError(20101, 'HY000', `internal error: strconv.ParseUint: parsing "${parallelism}": invalid syntax`);
  }
  if (baseTS !== '' && !/^\d+-\d+$/.test(baseTS)) throw new SqlError(20101, 'HY000', 'internal error: format of ts must be physical-logical');
  try {
    await ctx.locked(() => runBackup(ctx.tree, sink, { type, baseTS: baseTS || undefined, version: v, checksumless: ctx.checksumless }));
  } catch (e) {
    if (e instanceof BackupError) throw new SqlError(e.errno, 'HY000', e.message);
    const err = e as NodeJS.ErrnoException & { kind?: string };
    if (err.code === 'EEXIST' || err.kind === 'exists') throw new SqlError(20406, 'HY000', `file ${err.path ?? ''} already exists`);
    if (err.code) throw new SqlError(20101, 'HY000', `internal error: ${err.code} ${err.path ?? ''}`.trim());
    throw new SqlError(20101, 'HY000', err.message.startsWith('internal error') ? err.message : `internal error: ${err.message}`);
  }
  return undefined;
}
