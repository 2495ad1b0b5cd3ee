/**
 * What mo_br prints, byte for byte as in the spec's examples (spec/mo_br.md):
 * the list/check table, the `Backup ID` block, the check lines and restore's From:/To/TaePath.
 * Pure functions of their inputs; the commands decide where the text goes.
 */
import type { BackupRecord } from './meta.js';
import { describeFields, type Location } from '../store/location.js';
import { renderTable } from './table.js';
import { formatBytes, formatDuration, formatTime } from './units.js';

const HEADERS = ['ID', 'SIZE', 'PATH', 'AT TIME', 'DURATION', 'COMPLETE TIME', 'BACKUPTS', 'BACKUPTYPE'];

interface TableOptions {
  /** Minutes east of UTC for the times (default: the local zone). */
  offsetMinutes?: number;
  /** Drop BACKUPTS and BACKUPTYPE, as mo_br releases before 1.2 did (used by golden tests). */
  sixColumns?: boolean;
}

/**
 * The PATH cell, five lines: mo_br's two (`BackupDir: filesystem  Path:`, the path) and the path
 * again on the fifth. mo_ctl reads the --path (or S3 --filepath) of an incremental's base with
 * `mo_br list | grep -A 4 <ID> | tail -n 1 | awk -F "|" '{print $4}' | awk '{print $1}'`
 * (bin/auto_backup.sh since 298fd94; `grep -A 1` before), so the row's fifth line must hold it
 * (spec/mo_br.md, "list").
 */
function pathCell(loc: Location): string[] {
  if (loc.backupDir === 'filesystem') return ['BackupDir: filesystem  Path:', loc.path, '', 'Incremental --path:', loc.path];
  const second = loc.endpoint ? `Endpoint: ${loc.endpoint}` : '';
  const third = `Bucket: ${loc.bucket}${loc.region ? `  Region: ${loc.region}` : ''}`;
  return ['BackupDir: s3', second, third, 'Incremental --filepath:', loc.filepath ?? ''];
}

/** The list/check table: columns ID | SIZE | PATH | AT TIME | DURATION | COMPLETE TIME | BACKUPTS | BACKUPTYPE. */
export function renderBackupTable(records: BackupRecord[], opts: TableOptions = {}): string {
  const columns = opts.sixColumns ? 6 : 8;
  const rows = records.map((r) =>
    [
      r.id,
      formatBytes(r.size),
      pathCell(r.location),
      formatTime(r.atTime, opts.offsetMinutes),
      formatDuration(r.durationNs),
      formatTime(r.completeTime, opts.offsetMinutes),
      r.backupTs,
      r.backupType,
    ].slice(0, columns),
  );
  return renderTable(HEADERS.slice(0, columns), rows);
}

/** Printed by `backup` when it is done. */
export function backupIdBlock(id: string): string {
  return `Backup ID\n    ${id}\n`;
}

/** The line before the check lines: `list ID` checks existence only, `check ID` checksums. */
export function checkingBanner(kind: 'exists' | 'checksum'): string {
  return kind === 'exists' ? '\nChecking the backup data(currently,no checksum)...\n\n' : '\nChecking the backup data...\n\n';
}

/** One line per file checked; a damaged or missing file says what is wrong on the same line. */
export function checkLine(file: string, problem?: string): string {
  return problem === undefined ? `check: ${file}\n` : `check: ${file} FAILED: ${problem}\n`;
}

/** restore's header: the From: and To blocks and the TaePath. */
export function restoreHeader(from: BackupRecord['location'], to: BackupRecord['location'], taePath: string): string {
  const block = (fields: string[]) => fields.map((f) => `    ${f}\n`).join('');
  return `From:\n${block(describeFields(from))}\nTo\n${block(describeFields(to))}\nTaePath\n    ${taePath}\n`;
}
