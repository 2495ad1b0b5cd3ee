/**
 * MatrixOne's physical backup layout (spec/matrixone.md, "Backup layout"): parsers and writers
 * for `mo_meta`, `tae/tae_list`, `tae/tae_sum`, the checksum sidecars and the TS string form.
 *
 * Pure: bytes in, values out. Every parser rejects malformed input with
 * MobrError('CORRUPT', '<file> line <n>: <what>') and never throws anything else.
 * The CSV dialect is Go's encoding/csv as MatrixOne writes it (comma, `\n` line ends, fields
 * quoted only when they hold a comma, quote, CR/LF or start with a space; `"` doubled inside).
 */
import { createHash } from 'node:crypto';
import { MobrError } from '../errors.js';

/** MatrixOne's backup format version written in mo_meta (pkg/backup/types.go `Version`). */
export const BACKUP_VERSION = '0823';

// ---------------------------------------------------------------- TS

/** MatrixOne's transaction timestamp: physical nanoseconds (int64) and a logical counter (uint32). */
export interface MoTS {
  physical: bigint;
  logical: number;
}

const INT64_MAX = (1n << 63n) - 1n;
const TS_RE = /^(\d{1,19})-(\d{1,10})$/;

/** Formats a TS as MatrixOne does (`types.TS.ToString`): `<physical>-<logical>`. */
export function formatTS(ts: MoTS): string {
  return `${ts.physical}-${ts.logical}`;
}

/** Parses `1715745404915410000-1`; `where` names the file and line for the error. */
export function parseTS(s: string, where = 'timestamp'): MoTS {
  const m = TS_RE.exec(s);
  if (!m) throw corrupt(where, `bad timestamp ${JSON.stringify(clip(s))} (want <physical>-<logical>)`);
  const physical = BigInt(m[1]!);
  const logical = Number(m[2]!);
  if (physical > INT64_MAX || logical > 0xffffffff) throw corrupt(where, `timestamp out of range ${JSON.stringify(clip(s))}`);
  return { physical, logical };
}

export function compareTS(a: MoTS, b: MoTS): number {
  if (a.physical !== b.physical) return a.physical < b.physical ? -1 : 1;
  return a.logical - b.logical;
}

export const ZERO_TS: MoTS = { physical: 0n, logical: 0 };

// ---------------------------------------------------------------- CSV (Go encoding/csv dialect)

function needsQuotes(f: string): boolean {
  if (f === '') return false;
  if (f === '\\.') return true;
  if (/[",\r\n]/.test(f)) return true;
  return /^\s/u.test(f);
}

/** Writes records the way Go's csv.Writer does (UseCRLF=false). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  let out = '';
  for (const row of rows) {
    out += row.map((f) => (needsQuotes(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\n';
  }
  return out;
}

/**
 * Parses CSV text into records. `fields` is the exact field count every record must have.
 * Blank lines are skipped (as Go's reader does); a trailing record without `\n` is accepted.
 */
export function parseCsv(text: string, file: string, fields: number): string[][] {
  return parseCsvLines(text, file, fields).map((r) => r.fields);
}

interface CsvRecord {
  fields: string[];
  line: number;
}

function parseCsvLines(text: string, file: string, fields: number): CsvRecord[] {
  const rows: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    if (text[i] === '\n') { i++; line++; continue; }
    if (text[i] === '\r' && text[i + 1] === '\n') { i += 2; line++; continue; }
    const startLine = line;
    const rec: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw corrupt(`${file} line ${startLine}`, 'unterminated quoted field');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw corrupt(`${file} line ${line}`, 'extraneous character after quoted field');
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw corrupt(`${file} line ${line}`, 'bare quote in unquoted field');
          field += text[i];
          i++;
        }
      }
      rec.push(field);
      if (i < n && text[i] === ',') { i++; continue; }
      break;
    }
    if (rec.length !== fields) {
      throw corrupt(`${file} line ${startLine}`, `expected ${fields} fields, found ${rec.length}`);
    }
    rows.push({ fields: rec, line: startLine });
  }
  return rows;
}

function decodeUtf8(data: Uint8Array | string, file: string): string {
  if (typeof data === 'string') return data;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw corrupt(file, 'not valid UTF-8 text');
  }
}

// ---------------------------------------------------------------- mo_meta

export type LaunchConfigType = 'cn' | 'dn' | 'log' | 'proxy' | 'launch';
const LAUNCH_TYPES = new Set(['cn', 'dn', 'log', 'proxy', 'launch']);

export type MoMetaRow =
  | { type: 'version'; version: string }
  | { type: 'buildinfo'; buildinfo: string }
  | { type: 'launchconfig'; subtype: LaunchConfigType; file: string };

const META_ORDER = { version: 0, buildinfo: 1, launchconfig: 2 } as const;

/** Writes mo_meta rows, ordered by type like MatrixOne (version, buildinfo, launchconfig). */
export function writeMoMeta(rows: readonly MoMetaRow[]): string {
  const sorted = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => META_ORDER[a.r.type] - META_ORDER[b.r.type] || a.i - b.i)
    .map(({ r }) => r);
  return formatCsv(
    sorted.map((r) =>
      r.type === 'version' ? ['version', r.version, ''] : r.type === 'buildinfo' ? ['buildinfo', r.buildinfo, ''] : ['launchconfig', r.subtype, r.file],
    ),
  );
}

export function parseMoMeta(data: Uint8Array | string, file = 'mo_meta'): MoMetaRow[] {
  const recs = parseCsvLines(decodeUtf8(data, file), file, 3);
  return recs.map(({ fields: [type, sub, name], line }) => {
    const where = `${file} line ${line}`;
    switch (type) {
      case 'version':
        return { type, version: sub! };
      case 'buildinfo':
        return { type, buildinfo: sub! };
      case 'launchconfig':
        if (!LAUNCH_TYPES.has(sub!)) throw corrupt(where, `unknown launch config type ${JSON.stringify(clip(sub!))}`);
        if (!isSafeRelName(name!)) throw corrupt(where, `bad config file name ${JSON.stringify(clip(name!))}`);
        return { type, subtype: sub as LaunchConfigType, file: name! };
      default:
        throw corrupt(where, `unknown type ${JSON.stringify(clip(type!))}`);
    }
  });
}

// ---------------------------------------------------------------- tae/tae_list

/** One row of tae/tae_list. `checksum` is lowercase hex SHA-256, empty when needCopy is false. */
export interface TaeFileEntry {
  path: string; // relative to tae/: `<object>`, `ckp/<meta>`, `gc/<meta>`
  size: number;
  checksum: string;
  needCopy: boolean;
  ts: MoTS;
}

export function writeTaeList(entries: readonly TaeFileEntry[]): string {
  return formatCsv(entries.map((e) => [e.path, String(e.size), e.checksum, String(e.needCopy), formatTS(e.ts)]));
}

export function parseTaeList(data: Uint8Array | string, file = 'tae/tae_list'): TaeFileEntry[] {
  const recs = parseCsvLines(decodeUtf8(data, file), file, 5);
  return recs.map(({ fields: [path, size, checksum, needCopy, ts], line }) => {
    const where = `${file} line ${line}`;
    if (!isSafeRelName(path!)) throw corrupt(where, `bad path ${JSON.stringify(clip(path!))}`);
    if (!/^[0-9a-f]*$/.test(checksum!) || checksum!.length % 2 !== 0) throw corrupt(where, 'bad checksum (want hex)');
    if (needCopy !== 'true' && needCopy !== 'false') throw corrupt(where, `bad needCopy ${JSON.stringify(clip(needCopy!))}`);
    return { path: path!, size: parseSize(size!, where), checksum: checksum!, needCopy: needCopy === 'true', ts: parseTS(ts!, where) };
  });
}

// ---------------------------------------------------------------- tae/tae_sum

/** tae/tae_sum: backup time (`YYYY-MM-DD hh:mm:ss`, the TN's clock), total size, BACKUPTS, type. */
export interface TaeSum {
  backupTime: string;
  size: number;
  backupTS: MoTS;
  type: string; // '' when the statement had no TYPE clause, else e.g. 'incremental'
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export function writeTaeSum(sum: TaeSum): string {
  return formatCsv([[sum.backupTime, String(sum.size), formatTS(sum.backupTS), sum.type]]);
}

export function parseTaeSum(data: Uint8Array | string, file = 'tae/tae_sum'): TaeSum {
  const recs = parseCsvLines(decodeUtf8(data, file), file, 4);
  if (recs.length !== 1) throw corrupt(file, `expected one record, found ${recs.length}`);
  const [backupTime, size, ts, type] = recs[0]!.fields;
  const where = `${file} line ${recs[0]!.line}`;
  if (!DATETIME_RE.test(backupTime!)) throw corrupt(where, `bad backup time ${JSON.stringify(clip(backupTime!))}`);
  return { backupTime: backupTime!, size: parseSize(size!, where), backupTS: parseTS(ts!, where), type: type! };
}

/** Formats a Date as Go's time.DateTime layout in local time. */
export function formatBackupTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---------------------------------------------------------------- checksum sidecars

/**
 * `<file>.sha256` (32 raw bytes) is what every released MatrixOne writes (v1.0.0-rc2 onward);
 * `<file>.md5` (16 raw bytes) only existed in pre-merge commits of PR #11615 (Aug 2023).
 */
export type SidecarAlgo = 'sha256' | 'md5';
export const SIDECAR_ALGOS: readonly SidecarAlgo[] = ['sha256', 'md5'];
const DIGEST_LEN: Record<SidecarAlgo, number> = { sha256: 32, md5: 16 };

export function sidecarPath(file: string, algo: SidecarAlgo = 'sha256'): string {
  return `${file}.${algo}`;
}

export function digest(algo: SidecarAlgo, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algo).update(data).digest());
}

/** Returns the hex digest held by a sidecar; CORRUPT if its length is wrong. */
export function parseSidecar(bytes: Uint8Array, algo: SidecarAlgo, file: string): string {
  if (bytes.length !== DIGEST_LEN[algo]) {
    throw corrupt(sidecarPath(file, algo), `expected ${DIGEST_LEN[algo]} raw digest bytes, found ${bytes.length}`);
  }
  return Buffer.from(bytes).toString('hex');
}

/** Checks `data` against its sidecar; CORRUPT naming the file on mismatch. */
export function verifySidecar(data: Uint8Array, sidecar: Uint8Array, algo: SidecarAlgo, file: string): void {
  const want = parseSidecar(sidecar, algo, file);
  const got = Buffer.from(digest(algo, data)).toString('hex');
  if (want !== got) throw corrupt(file, `${algo} ${got} does not match ${sidecarPath(file, algo)} (${want})`);
}

// ---------------------------------------------------------------- helpers

function parseSize(s: string, where: string): number {
  if (!/^\d{1,16}$/.test(s)) throw corrupt(where, `bad size ${JSON.stringify(clip(s))}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw corrupt(where, `size out of range ${s}`);
  return n;
}

/** A relative name that stays inside its folder: no absolute path, no `..`, no empty or odd bytes. */
function isSafeRelName(p: string): boolean {
  if (p === '' || p.length > 1024 || p.startsWith('/') || p.includes('\\')) return false;
  if (/[\u0000-\u001f\u007f]/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function corrupt(where: string, what: string): MobrError {
  return new MobrError('CORRUPT', `${where}: ${what}`);
}
