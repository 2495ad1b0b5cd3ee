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
import { framedSize, unframe } from './framing.js';
import { formatCsv, parseCsvLines } from '../util/csv.js';

// ---------------------------------------------------------------- TS

/** MatrixOne's transaction timestamp: physical nanoseconds (int64) and a logical counter (uint32). */
interface MoTS {
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

const ZERO_TS: MoTS = { physical: 0n, logical: 0 };

// ---------------------------------------------------------------- CSV (Go encoding/csv dialect)

export { formatCsv, parseCsv } from '../util/csv.js';

function decodeUtf8(data: Uint8Array | string, file: string): string {
  if (typeof data === 'string') return data;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw corrupt(file, 'not valid UTF-8 text');
  }
}

// ---------------------------------------------------------------- mo_meta

type LaunchConfigType = 'cn' | 'dn' | 'log' | 'proxy' | 'launch';
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

/**
 * One row of tae/tae_list. Since v1.2.0 (pkg/backup/types.go taeFile.CsvString) a row is
 * `path,size,checksum,needCopy,ts`; up to v1.1.x it is `path,size,checksum` (every listed file
 * copied, no ts). `checksum` is lowercase hex SHA-256 of the file's logical bytes, EMPTY when the
 * server did not compute one: needCopy=false rows, and needCopy=true rows of files the server
 * wrote itself (merged checkpoint meta, rewritten objects; pkg/backup/tae.go execBackup).
 */
export interface TaeFileEntry {
  path: string; // relative to tae/: `<object>`, `ckp/<meta>`, `gc/<meta>`
  size: number;
  checksum: string;
  needCopy: boolean;
  /** absent in the 3-field rows of servers before v1.2 */
  ts?: MoTS;
}

/** Writes rows in the 5-field form, or the 3-field form when no row has a ts (servers before v1.2). */
export function writeTaeList(entries: readonly TaeFileEntry[]): string {
  const old = entries.length > 0 && entries.every((e) => e.ts === undefined);
  return formatCsv(entries.map((e) => (old ? [e.path, String(e.size), e.checksum] : [e.path, String(e.size), e.checksum, String(e.needCopy), formatTS(e.ts ?? ZERO_TS)])));
}

/** Reads both row forms (all rows of one file have the same form). */
export function parseTaeList(data: Uint8Array | string, file = 'tae/tae_list'): TaeFileEntry[] {
  const recs = parseCsvLines(decodeUtf8(data, file), file, [5, 3]);
  return recs.map(({ fields: [path, size, checksum, needCopy, ts], line }) => {
    const where = `${file} line ${line}`;
    if (!isSafeRelName(path!)) throw corrupt(where, `bad path ${JSON.stringify(clip(path!))}`);
    if (!/^[0-9a-f]*$/.test(checksum!) || checksum!.length % 2 !== 0) throw corrupt(where, 'bad checksum (want hex)');
    const row: TaeFileEntry = { path: path!, size: parseSize(size!, where), checksum: checksum!, needCopy: true };
    if (needCopy === undefined) return row;
    if (needCopy !== 'true' && needCopy !== 'false') throw corrupt(where, `bad needCopy ${JSON.stringify(clip(needCopy))}`);
    return { ...row, needCopy: needCopy === 'true', ts: parseTS(ts!, where) };
  });
}

// ---------------------------------------------------------------- tae/tae_sum

/**
 * tae/tae_sum. Since v1.2.0: `backupTime,size,backupTS,type`; up to v1.1.x: `backupTime,size`.
 * backupTime is `YYYY-MM-DD hh:mm:ss` in UTC (the TN's `time.Now().UTC()`, pkg/vm/engine/tae/rpc
 * HandleBackup), size the sum of tae_list's sizes, backupTS the checkpoint start TS (BACKUPTS).
 */
export interface TaeSum {
  backupTime: string;
  size: number;
  /** absent before v1.2 */
  backupTS?: MoTS;
  /** '' when the statement had no TYPE clause, else its text verbatim; absent before v1.2 */
  type?: string;
}

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export function writeTaeSum(sum: TaeSum): string {
  if (sum.backupTS === undefined) return formatCsv([[sum.backupTime, String(sum.size)]]);
  return formatCsv([[sum.backupTime, String(sum.size), formatTS(sum.backupTS), sum.type ?? '']]);
}

export function parseTaeSum(data: Uint8Array | string, file = 'tae/tae_sum'): TaeSum {
  const recs = parseCsvLines(decodeUtf8(data, file), file, [4, 2]);
  if (recs.length !== 1) throw corrupt(file, `expected one record, found ${recs.length}`);
  const [backupTime, size, ts, type] = recs[0]!.fields;
  const where = `${file} line ${recs[0]!.line}`;
  if (parseBackupTime(backupTime!) === undefined) throw corrupt(where, `bad backup time ${JSON.stringify(clip(backupTime!))}`);
  const sum: TaeSum = { backupTime: backupTime!, size: parseSize(size!, where) };
  return ts === undefined ? sum : { ...sum, backupTS: parseTS(ts, where), type: type! };
}

/** Formats a Date as Go's time.DateTime layout in UTC, as MatrixOne writes tae_sum. */
export function formatBackupTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** ms since the epoch of a tae_sum backup time (UTC), or undefined when it is not one. */
export function parseBackupTime(s: string): number | undefined {
  const m = DATETIME_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  return formatBackupTime(new Date(ms)) === s ? ms : undefined; // rejects 2024-02-30 and 25:00
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

/**
 * The hex digest of a sidecar as found on disk: raw (32 bytes for SHA-256), or LocalFS-framed
 * (36 bytes: a DISK backup target frames everything under tae/ and hakeeper/, sidecars included,
 * pkg/backup/fs.go writeFile through fileservice.GetForBackup).
 */
export function readSidecar(bytes: Uint8Array, algo: SidecarAlgo, file: string): string {
  if (bytes.length === framedSize(DIGEST_LEN[algo])) return parseSidecar(unframe(bytes, sidecarPath(file, algo)), algo, file);
  return parseSidecar(bytes, algo, file);
}

/** Checks `data` against its sidecar (raw or framed); CORRUPT naming the file on mismatch. */
export function verifySidecar(data: Uint8Array, sidecar: Uint8Array, algo: SidecarAlgo, file: string): void {
  const want = readSidecar(sidecar, algo, file);
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

// ---------------------------------------------------------------- check order

const CHECK_FIRST = ['backup_meta', 'mo_meta', 'hakeeper/hk_data', 'tae/tae_list', 'tae/tae_sum'];
const checkRank = (p: string) => (CHECK_FIRST.includes(p) ? CHECK_FIRST.indexOf(p) : p.startsWith('config/') ? 10 : 20);

/**
 * mo_br's order of a backup's files in `check` and `list <ID>` (the seed's output): /backup_meta,
 * /mo_meta, hakeeper/hk_data, tae/tae_list, tae/tae_sum, config/… by name, then the rest by path.
 */
export function compareCheckOrder(a: string, b: string): number {
  return checkRank(a) - checkRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** How mo_br shows a path in its check lines: `/backup_meta` and `/mo_meta` with a leading slash. */
export const checkShown = (p: string): string => (p === 'backup_meta' || p === 'mo_meta' ? `/${p}` : p);
