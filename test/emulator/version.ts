/**
 * What a MatrixOne server version changes in a backup (read at the tags of
 * matrixorigin/matrixone):
 *  - grammar (pkg/sql/parsers/dialect/mysql/mysql_sql.y, rule backup_stmt): up to v1.1.1
 *    `BACKUP '<s>' FILESYSTEM '<dir>'` and `BACKUP '<s>' S3OPTION {…}`; v1.1.2 adds a required
 *    `PARALLELISM '<n>'` to the FILESYSTEM form; v1.2.0 adds `[TYPE '<t>'] [TIMESTAMP '<ts>']`.
 *  - rows (pkg/backup/types.go): before v1.2.0 tae_list is `path,size,checksum` and tae_sum
 *    `time,size`; from v1.2.0 `path,size,checksum,needCopy,ts` and `time,size,backupTS,type`.
 *  - v3.0.0: a `tae/file_list` already at the target names objects not to copy again; v3.0.6:
 *    the newest `file_index_<ts>.idx` at the target root does too (pkg/backup/tae.go, file_index.go),
 *    newest by string comparison of `<ts>`; v4.2.0 compares parsed TSs and skips other names.
 *  - v2.0.1: CopyGCDir also copies the objects each GC meta's window names (the GC's own
 *    object-table files at the SHARED root) and lists them with the GC META's size
 *    (`files[metaFile.GetIndex()].Size`, pkg/backup/tae.go:522 at v2.0.1-v2.0.5; `GetIdx()` :553
 *    at v2.1.0-v3.0.4, :595 at v3.0.5, :602 at v3.0.6-v4.1.4); v4.2.0 lists the copied object's own size
 *    (`dstFs.StatFile`, commit e398bf01fe, pkg/backup/tae.go:635-641).
 *  - `select version()`: `8.0.30-MatrixOne-v<version>` (pkg/config/configuration.go).
 */
export interface ServerVersion {
  text: string;
  /** FILESYSTEM form needs PARALLELISM (v1.1.2+) */
  parallelism: boolean;
  /** TYPE/TIMESTAMP clauses, needCopy rows, 4-field tae_sum (v1.2.0+) */
  incremental: boolean;
  fileList: boolean;
  fileIndex: boolean;
  /** the newest file_index is chosen by TS, not by string (v4.2.0+) */
  fileIndexTsOrder: boolean;
  /** CopyGCDir copies the objects a GC meta's window names (v2.0.1+) */
  gcWindowCopy: boolean;
  /** ...and lists them with their own size, not the GC meta's (v4.2.0+) */
  gcRowSizeFixed: boolean;
  /** CREATE/SHOW/DROP SNAPSHOT, RESTORE … FROM SNAPSHOT (v1.2.0+) */
  snapshots: boolean;
  /** RESTORE … {SNAPSHOT = <n>} instead of FROM SNAPSHOT (v4.0.0+) */
  braceRestore: boolean;
  /** CREATE/SHOW/ALTER/DROP PITR, RESTORE … FROM PITR (v2.0.0+) */
  pitr: boolean;
}

function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export function serverVersion(text: string): ServerVersion {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`emulator: server version ${JSON.stringify(text)} is not x.y.z`);
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  return {
    text: text.replace(/^v/, ''),
    parallelism: cmp(v, [1, 1, 2]) >= 0,
    incremental: cmp(v, [1, 2, 0]) >= 0,
    fileList: cmp(v, [3, 0, 0]) >= 0,
    fileIndex: cmp(v, [3, 0, 6]) >= 0,
    fileIndexTsOrder: cmp(v, [4, 2, 0]) >= 0,
    gcWindowCopy: cmp(v, [2, 0, 1]) >= 0,
    gcRowSizeFixed: cmp(v, [4, 2, 0]) >= 0,
    snapshots: cmp(v, [1, 2, 0]) >= 0,
    braceRestore: cmp(v, [4, 0, 0]) >= 0,
    pitr: cmp(v, [2, 0, 0]) >= 0,
  };
}

export const mysqlVersion = (v: ServerVersion): string => `8.0.30-MatrixOne-v${v.text}`;
