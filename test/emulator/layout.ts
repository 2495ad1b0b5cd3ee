/**
 * The text files of a backup, as pkg/backup writes them (types.go CsvString, backup.go
 * saveMetas/saveTaeFilesList, Go encoding/csv via csv.ts). The emulator's own writers.
 *  - mo_meta: `version,0823,` then `buildinfo,<info>,` then `launchconfig,<subtype>,<file>`
 *    (sorted by type).
 *  - tae_list: `path,size,<sha256 hex or empty>,<true|false>,<ts>` (v1.2+) or `path,size,checksum`.
 *  - tae_sum: `<YYYY-MM-DD hh:mm:ss UTC>,<sum of sizes>,<backupTS>,<type>` (v1.2+) or `time,size`.
 */
import { csvLines } from './csv.js';
import { tsString, type TS } from './ts.js';
import type { ServerVersion } from './version.js';

export const BACKUP_VERSION = '0823';

export interface TaeRow {
  path: string;
  size: number;
  /** raw SHA-256 or undefined (written empty) */
  checksum?: Buffer;
  needCopy: boolean;
  ts: TS;
}

export function moMeta(buildInfo: string, configs: { subtype: string; file: string }[]): string {
  return csvLines([['version', BACKUP_VERSION, ''], ['buildinfo', buildInfo, ''], ...configs.map((c) => ['launchconfig', c.subtype, c.file])]);
}

export function taeList(rows: TaeRow[], v: ServerVersion): string {
  return csvLines(
    rows.map((r) => {
      const base = [r.path, String(r.size), r.checksum ? r.checksum.toString('hex') : ''];
      return v.incremental ? [...base, String(r.needCopy), tsString(r.ts)] : base;
    }),
  );
}

export function taeSum(time: string, size: number, backupTS: TS, type: string, v: ServerVersion): string {
  return csvLines([v.incremental ? [time, String(size), tsString(backupTS), type] : [time, String(size)]]);
}

/** time.DateTime of a UTC instant: `2006-01-02 15:04:05`. */
export function dateTimeUTC(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
