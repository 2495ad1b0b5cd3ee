/**
 * The lines of `mo_br.meta` (spec/meta.md): one Go-`encoding/csv` record per backup, the backup ID
 * first, then the columns `list` shows (as it shows them), then mobr's own columns, introduced by
 * the marker `mobr1`, which hold exact values and the repository's location:
 *
 *   ID,SIZE,PATH,AT TIME,DURATION,COMPLETE TIME,BACKUPTS,BACKUPTYPE,
 *   mobr1,<size bytes>,<at ms>,<duration ns>,<complete ms>,<location>,<base id>,<source>
 *
 * mobr's columns never need CSV quoting and hold no whitespace or glob characters (percent
 * encoding), so a line survives the operator's unquoted `echo $RAW_META > mo_br.meta`, and
 * `SplitN(line, ",", 2)[0]` / `awk -F, '{print $1}'` read the ID. A line without `mobr1` (written
 * by another tool) is read from its shown columns. Pure functions; the file and its sidecar are
 * meta.ts's concern.
 */
import { MobrError, isMobrError } from '../errors.js';
import { formatCsv, parseCsvLines } from '../util/csv.js';
import { decodeName, encodeName, isPlainName } from '../util/names.js';
import { isBackupId } from '../repo/backup-id.js';
import { describeLocation, locationToJSON, type Location, type S3Location } from '../store/location.js';
import { formatBytes, formatDuration, formatTime } from './units.js';

export interface BackupRecord {
  /** Time-based UUID (v1), as mo_br's IDs. */
  id: string;
  /** Logical size of the backed-up files, bytes. */
  size: number;
  location: Location;
  /** Start, ms since the epoch. */
  atTime: number;
  durationNs: number;
  /** End, ms since the epoch. */
  completeTime: number;
  /** MatrixOne TS string ("1715745404915410000-1"); cold backups: wall clock "<ns>-0". */
  backupTs: string;
  backupType: 'full' | 'incremental';
  baseId?: string;
  /** What was backed up, without credentials ("cold /srv/mo-data", "matrixone 127.0.0.1:6001"). */
  source?: string;
}

/** The shown columns, in order (the table's headers). */
export const SHOWN_COLUMNS = ['ID', 'SIZE', 'PATH', 'AT TIME', 'DURATION', 'COMPLETE TIME', 'BACKUPTS', 'BACKUPTYPE'] as const;
export const MOBR_MARKER = 'mobr1';

/**
 * Percent-encoding of a value's bytes, without whitespace, commas, quotes or glob characters: only
 * `A-Z a-z 0-9 - _ .` stay as they are. For UTF-8 text this is encodeURIComponent plus `*!'()~`; a
 * path that is not UTF-8 (src/util/names.ts) is encoded byte for byte, so it reads back exactly.
 */
function pct(s: string): string {
  if (isPlainName(s)) return encodeURIComponent(s).replace(/[*!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  let out = '';
  for (const b of encodeName(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unpct(s: string, where: string): string {
  try {
    return decodeURIComponent(s);
  } catch (e) {
    // bytes that are not UTF-8 (a path's own bytes), or a broken escape
    if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new MobrError('CORRUPT_META', `${where}: bad percent-encoding`, { cause: e });
    const parts = s.split(/(%[0-9A-Fa-f]{2})/);
    return decodeName(Buffer.concat(parts.map((p) => (p.startsWith('%') ? Buffer.of(parseInt(p.slice(1), 16)) : Buffer.from(p, 'utf8')))));
  }
}

/** `filesystem:<path>` or `s3:bucket=…&filepath=…[&endpoint=…][&region=…][&compression=…][&roleArn=…][&isMinio=1]`. */
export function encodeLocation(loc: Location): string {
  const l = locationToJSON(loc);
  if (l.backupDir === 'filesystem') return `filesystem:${pct(l.path)}`;
  const parts = [`bucket=${pct(l.bucket)}`, `filepath=${pct(l.filepath)}`];
  for (const k of ['endpoint', 'region', 'compression', 'roleArn'] as const) if (l[k]) parts.push(`${k}=${pct(l[k]!)}`);
  if (l.isMinio) parts.push('isMinio=1');
  return `s3:${parts.join('&')}`;
}

export function decodeLocation(s: string, where: string): Location {
  if (s.startsWith('filesystem:')) return { backupDir: 'filesystem', path: unpct(s.slice('filesystem:'.length), where) };
  if (s.startsWith('s3:')) {
    const kv = new Map<string, string>();
    for (const part of s.slice(3).split('&')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new MobrError('CORRUPT_META', `${where}: bad location`);
      kv.set(part.slice(0, eq), unpct(part.slice(eq + 1), where));
    }
    const bucket = kv.get('bucket');
    if (!bucket) throw new MobrError('CORRUPT_META', `${where}: location without a bucket`);
    const loc: S3Location = { backupDir: 's3', bucket, filepath: kv.get('filepath') ?? '', isMinio: kv.get('isMinio') === '1' };
    for (const k of ['endpoint', 'region', 'compression', 'roleArn'] as const) if (kv.get(k)) loc[k] = kv.get(k);
    return locationToJSON(loc);
  }
  throw new MobrError('CORRUPT_META', `${where}: bad location`);
}

/** The fields of one record's line. */
export function recordFields(r: BackupRecord): string[] {
  return [
    r.id,
    formatBytes(r.size),
    describeLocation(r.location),
    formatTime(r.atTime),
    formatDuration(r.durationNs),
    formatTime(r.completeTime),
    r.backupTs,
    r.backupType,
    MOBR_MARKER,
    String(r.size),
    String(r.atTime),
    String(r.durationNs),
    String(r.completeTime),
    encodeLocation(r.location),
    r.baseId ?? '',
    r.source === undefined ? '' : pct(r.source),
  ];
}

/** The whole file: lines mobr could not use first (as they were), then one line per record, in the order given. */
export function formatMetaLines(records: readonly BackupRecord[], kept: readonly SkippedLine[] = []): string {
  return formatCsv([...kept.map((k) => k.fields), ...records.map(recordFields)]);
}

function wholeNumber(s: string, where: string, what: string): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new MobrError('CORRUPT_META', `${where}: bad ${what} ${JSON.stringify(s.slice(0, 30))}`);
  return Number(s);
}

function backupType(s: string, where: string): 'full' | 'incremental' {
  const t = s.trim().toLowerCase();
  if (t === 'full' || t === '') return 'full';
  if (t === 'incremental') return 'incremental';
  throw new MobrError('CORRUPT_META', `${where}: bad backup type ${JSON.stringify(s.slice(0, 20))}`);
}

/** A record from the fields of one line (`where` names the file and line). */
export function fieldsToRecord(f: string[], where: string): BackupRecord {
  const id = f[0].trim();
  if (!isBackupId(id)) throw new MobrError('CORRUPT_META', `${where}: the first field is not a backup ID`);
  const mobr = f.indexOf(MOBR_MARKER, SHOWN_COLUMNS.length);
  if (mobr !== SHOWN_COLUMNS.length) return foreignRecord(id, f, where);
  if (f.length < mobr + 8) throw new MobrError('CORRUPT_META', `${where}: ${f.length} fields, want ${mobr + 8}`);
  const [size, at, dur, complete, loc, baseId, source] = f.slice(mobr + 1, mobr + 8);
  const r: BackupRecord = {
    id,
    size: wholeNumber(size, where, 'size'),
    location: decodeLocation(loc, where),
    atTime: wholeNumber(at, where, 'start time'),
    durationNs: wholeNumber(dur, where, 'duration'),
    completeTime: wholeNumber(complete, where, 'completion time'),
    backupTs: f[6],
    backupType: backupType(f[7], where),
  };
  if (baseId !== '') {
    if (!isBackupId(baseId)) throw new MobrError('CORRUPT_META', `${where}: bad base ID`);
    r.baseId = baseId;
  }
  if (source !== '') r.source = unpct(source, where);
  return r;
}

/** A line of the file mobr cannot use: kept as it is (its fields), named, and skipped. */
export interface SkippedLine {
  line: number;
  fields: string[];
  problem: string;
}

/**
 * Parses the whole file text (any number of lines, blank lines skipped). With `skipped`, a line
 * mobr cannot use (a bad ID, a field it cannot read) goes there and the others are read; without
 * it, such a line is CORRUPT_META. A file that is not CSV at all is CORRUPT_META either way.
 */
export function parseMetaLines(text: string, file: string, skipped?: SkippedLine[]): BackupRecord[] {
  let recs;
  try {
    recs = parseCsvLines(text, file);
  } catch (e) {
    if (isMobrError(e, 'CORRUPT')) throw new MobrError('CORRUPT_META', `meta file ${e.message}`, { cause: e });
    throw e;
  }
  const out: BackupRecord[] = [];
  for (const r of recs) {
    try {
      out.push(fieldsToRecord(r.fields, `meta file ${file} line ${r.line}`));
    } catch (e) {
      if (!skipped || !isMobrError(e, 'CORRUPT_META')) throw e;
      skipped.push({ line: r.line, fields: r.fields, problem: e.message });
    }
  }
  return out;
}

// ------------------------------------------------------------- lines written by another tool

const SI = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** go-humanize's "8.3 MB" back to bytes (approximate: what the text says). */
function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kMGTPE]?B)\s*$/.exec(s);
  if (!m) return 0;
  return Math.round(Number(m[1]) * 1000 ** Math.max(0, SI.indexOf(m[2])));
}

/** "2024-05-15 11:56:44 +0800" (Go's layout) to ms; 0 when it is not one. */
function parseTime(s: string): number {
  const m = /^\s*(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)? ([+-])(\d\d)(\d\d)/.exec(s);
  if (!m) return 0;
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const off = (m[7] === '-' ? -1 : 1) * (+m[8] * 60 + +m[9]);
  return utc - off * 60_000;
}

/** Go's duration text ("8.648091083s", "1m2.5s", "549µs") to ns; 0 when it is not one. */
function parseDuration(s: string): number {
  const unit: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, 'µs': 1e3, us: 1e3, ns: 1 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)/gy;
  const t = s.trim();
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    end = re.lastIndex;
  }
  return end === t.length ? Math.round(total) : 0;
}

/** mo_br's PATH cell ("BackupDir: s3  Endpoint: …  Bucket: …  FilePath: …"), spaces possibly collapsed. */
function parsePathCell(s: string, where: string): Location {
  const fs = /^\s*BackupDir:\s*filesystem\s+Path:\s?(.*)$/.exec(s);
  if (fs) return { backupDir: 'filesystem', path: fs[1] };
  if (/^\s*BackupDir:\s*s3\b/.test(s)) {
    const field = (name: string) => new RegExp(`\\b${name}:\\s*(\\S*)`).exec(s)?.[1];
    const bucket = field('Bucket');
    if (bucket) return locationToJSON({ backupDir: 's3', bucket, filepath: field('FilePath') ?? '', endpoint: field('Endpoint') || undefined, region: field('Region') || undefined, isMinio: false });
  }
  throw new MobrError('CORRUPT_META', `${where}: cannot tell where the backup is from ${JSON.stringify(s.slice(0, 60))}`);
}

/** A line without mobr's columns: read from the shown columns. */
function foreignRecord(id: string, f: string[], where: string): BackupRecord {
  if (f.length < SHOWN_COLUMNS.length) throw new MobrError('CORRUPT_META', `${where}: ${f.length} fields, want at least ${SHOWN_COLUMNS.length} (${SHOWN_COLUMNS.join(', ')})`);
  const atTime = parseTime(f[3]);
  const durationNs = parseDuration(f[4]);
  return {
    id,
    size: parseSize(f[1]),
    location: parsePathCell(f[2], where),
    atTime,
    durationNs,
    completeTime: parseTime(f[5]) || atTime + Math.round(durationNs / 1e6),
    backupTs: f[6].trim(),
    backupType: backupType(f[7], where),
  };
}

/** Only the known fields of a record (never credentials). */
export function cleanRecord(r: BackupRecord): BackupRecord {
  const o: BackupRecord = {
    id: r.id,
    size: r.size,
    location: locationToJSON(r.location),
    atTime: r.atTime,
    durationNs: r.durationNs,
    completeTime: r.completeTime,
    backupTs: r.backupTs,
    backupType: r.backupType,
  };
  if (r.baseId !== undefined) o.baseId = r.baseId;
  if (r.source !== undefined) o.source = r.source;
  return o;
}
