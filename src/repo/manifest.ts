/**
 * Backup manifests (spec/repository.md §7): `backups/<backup id>`, a sealed envelope (kind 'M').
 * A manifest lists every entry of the backed-up tree and, for each regular file, its size, mode,
 * SHA-256 and the ids of the chunks whose concatenation is the file. It is self-contained: an
 * incremental backup's manifest still lists every file, so each backup restores on its own.
 */
import { MobrError } from '../errors.js';
import { checkBackupId } from './backup-id.js';
import { FRAME, openSealed, sealFramed, undecodable, type Sealing } from './sealed.js';
import { Encoder } from '@msgpack/msgpack';
import { Encoded, encodeWithRows, MsgReader } from '../util/msgpack-rows.js';
import { decodeName, encodeName, isPlainName, showName } from '../util/names.js';
import { FileTable, type FileEntry } from './file-table.js';

export type { EntryKind, FileEntry } from './file-table.js';

export { checkBackupId, isBackupId } from './backup-id.js';

export type BackupType = 'full' | 'incremental';

export interface Manifest {
  version: 1 | 2; // 2 when a name or link target is not valid UTF-8
  id: string;
  type: BackupType;
  baseId?: string;
  backupTs?: string; // MatrixOne's TS string of the backup, when from a server
  startedAt: number; // ms since epoch
  completedAt: number;
  source: Record<string, unknown>; // what was backed up (never secrets)
  files: FileEntry[];
  logicalSize: number; // sum of file sizes
  addedBytes: number; // stored bytes this backup added to the repository
  extra?: Record<string, unknown>;
}

/** The newest manifest format this build reads; it writes 1 unless a name needs 2 (§7.1). */
export const MANIFEST_VERSION = 2;

/**
 * A name that is valid UTF-8 is written as text (`p`, `l`); one that is not is written as its
 * bytes (`pb`, `lb`), beside a readable `p`/`l` with each odd byte shown as \xNN, and makes
 * the manifest version 2, so an older mobr refuses it instead of restoring wrong names.
 */
export function encodeManifest(m: Manifest, sealing?: Sealing): Uint8Array {
  const t = TABLES.get(m);
  const version = t ? (rowsNeedNameBytes(t) ? 2 : 1) : m.files.some(needsNameBytes) ? 2 : 1;
  // the head's fields in their order, `files` read as rows (a manifest holding a table is written from it: no entry kept)
  const body: Record<string, unknown> = {};
  for (const k of Object.keys(m)) body[k] = k === 'files' ? undefined : (m as unknown as Record<string, unknown>)[k];
  body.version = version;
  const row = t ? tableRow(t) : (k: number) => encodeEntry(m.files[k]);
  // a row at a time (src/util/msgpack-rows.ts): the same bytes as encode({ ...m, version, files: rows })
  return sealFramed('M', version, encodeWithRows(body, 'files', t ? t.length : m.files.length, row, FRAME.before, FRAME.after), sealing);
}

const rowEncoder = new Encoder({ ignoreUndefined: true });
/** The key `x` (a fixstr of one byte), which a row's meta follows. */
const META_KEY = Uint8Array.of(0xa1, 0x78);

/**
 * Row k of a table as its manifest row: the bytes encodeEntry(t.entry(k)) encodes to, but with
 * the meta (`x`, a row's last key) copied as the msgpack bytes the table keeps, not decoded and
 * encoded again (issue #22: that was most of writing a small-file backup's manifest). A row
 * with `pb`/`lb` (after `x`) is encoded from its entry.
 */
function tableRow(t: FileTable): (k: number) => unknown {
  return (k) => {
    const meta = t.rawMeta(k);
    const f = t.entry(k, false);
    if (!meta) return encodeEntry(f);
    if (!isPlainName(f.path) || (f.target !== undefined && !isPlainName(f.target))) return encodeEntry(t.entry(k));
    const head = rowEncoder.encodeSharedRef(encodeEntry(f));
    if ((head[0] & 0xf0) !== 0x80) return encodeEntry(t.entry(k)); // not a fixmap (a row has under 16 keys)
    head[0]++; // one key more: x
    return new Encoded(head, META_KEY, meta);
  };
}

const rowsNeedNameBytes = (t: FileTable): boolean => {
  for (let k = 0; k < t.length; k++) if (!isPlainName(t.path(k)) || (t.target(k) !== undefined && !isPlainName(t.target(k)!))) return true;
  return false;
};

/** Whether an entry's row carries `pb` or `lb` (a name that is not UTF-8), which makes a version 2 manifest. */
const needsNameBytes = (f: FileEntry): boolean => !isPlainName(f.path) || (f.target !== undefined && !isPlainName(f.target));

/** One entry as a manifest row (§7): `pb`/`lb` beside a readable `p`/`l` when a name is not UTF-8. */
export function encodeEntry(f: FileEntry): Record<string, unknown> {
  const e: Record<string, unknown> = { p: f.path, k: f.kind, s: f.size, m: f.mode, t: f.mtimeMs, h: f.sha256, c: f.chunks, l: f.target, x: f.meta };
  if (!isPlainName(f.path)) {
    e.p = showName(f.path);
    e.pb = encodeName(f.path);
  }
  if (f.target !== undefined && !isPlainName(f.target)) {
    e.l = showName(f.target);
    e.lb = encodeName(f.target);
  }
  return e;
}

const KINDS = new Set(['file', 'dir', 'symlink']);

export function decodeManifest(data: Uint8Array, what: string, sealing?: Sealing): Manifest {
  const { version, payload } = openSealed('M', MANIFEST_VERSION, data, what, sealing);
  const bad = (field: string) => new MobrError('CORRUPT_MANIFEST', `${what}: malformed (${field})`);
  let b: Record<string, unknown>;
  try {
    b = readBody(new MsgReader(payload), bad);
  } catch (e) {
    if (e instanceof MobrError) throw e;
    throw undecodable('M', what, e);
  }
  if (!b || typeof b !== 'object') throw bad('body');
  if (typeof b.id !== 'string' || (b.type !== 'full' && b.type !== 'incremental') || !(b.files instanceof FileTable)) throw bad('header');
  return withTable(b.files, {
    version: version === 2 ? 2 : 1,
    id: b.id,
    type: b.type,
    baseId: b.baseId as string | undefined,
    backupTs: b.backupTs as string | undefined,
    startedAt: Number(b.startedAt ?? 0),
    completedAt: Number(b.completedAt ?? 0),
    source: (b.source as Record<string, unknown>) ?? {},
    logicalSize: Number(b.logicalSize ?? 0),
    addedBytes: Number(b.addedBytes ?? 0),
    extra: b.extra as Record<string, unknown> | undefined,
  });
}

const TABLES = new WeakMap<Manifest, FileTable>();

/**
 * A manifest holding its entries as a FileTable (a decoded one, or a backup's); `files` makes the
 * entry objects the first time it is read (and keeps them). Assigning `files` drops the table.
 * `files` lies where a manifest literal has it (before `logicalSize`), so a backup's manifest is
 * written with its fields in the same order as before the table.
 */
export function withTable(table: FileTable, head: Omit<Manifest, 'files'>): Manifest {
  let files: FileEntry[] | undefined;
  const m = {} as Manifest;
  const accessor: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get: (): FileEntry[] => (files ??= table.entries()),
    set: (v: FileEntry[]) => {
      files = v;
      TABLES.delete(m);
    },
  };
  for (const [k, v] of Object.entries(head)) {
    if (k === 'logicalSize') Object.defineProperty(m, 'files', accessor);
    (m as unknown as Record<string, unknown>)[k] = v;
  }
  if (!Object.hasOwn(m, 'files')) Object.defineProperty(m, 'files', accessor);
  TABLES.set(m, table);
  return m;
}

/** A manifest's entries as a table: its own (decoded, or a backup's), else made from its `files` (issue #22). */
export function fileTable(m: Manifest): FileTable {
  return TABLES.get(m) ?? FileTable.of(m.files);
}

/** A manifest's own table, if it holds one (nothing is made). */
export function ownTable(m: Manifest): FileTable | undefined {
  return TABLES.get(m);
}

/**
 * A manifest's body, its `files` made a FileTable a row at a time, straight from the bytes: no
 * row or entry outlives its own reading (issue #22: a million files), and the table copies the
 * SHA-256s and chunk ids, so the decoded bytes are not kept alive by them.
 */
function readBody(r: MsgReader, bad: (field: string) => Error): Record<string, unknown> {
  const n = r.head(0x80);
  if (n < 0) {
    const other = r.value();
    if (!r.done) throw new RangeError('msgpack: extra bytes after the body');
    return other as Record<string, unknown>;
  }
  const body: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = r.value();
    if ((typeof k !== 'string' && typeof k !== 'number') || k === '__proto__') throw new RangeError('msgpack: a map key that is not a string or number');
    const rows = k === 'files' ? r.head(0x90) : -1;
    if (rows < 0) body[k] = r.value();
    else {
      const table = new FileTable(Math.min(rows, r.bytes.length - r.pos)); // a row is a byte at least: a false count allocates nothing
      for (let j = 0; j < rows; j++) {
        const row = readRow(r);
        table.push(decodeEntry(row.fields, bad), row.x);
      }
      body[k] = table.trim();
    }
  }
  if (!r.done) throw new RangeError('msgpack: extra bytes after the body');
  return body;
}

/**
 * One manifest row's fields, its `x` (meta) kept as its bytes (a view) for the
 * table (src/repo/file-table.ts keeps meta encoded). A row that is not a map is given as it
 * decodes (decodeEntry refuses it).
 */
function readRow(r: MsgReader): { fields: Record<string, unknown>; x?: Uint8Array } {
  const n = r.head(0x80);
  if (n < 0) return { fields: r.value() as Record<string, unknown> };
  const fields: Record<string, unknown> = {};
  let x: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const k = r.value();
    if ((typeof k !== 'string' && typeof k !== 'number') || k === '__proto__') throw new RangeError('msgpack: a map key that is not a string or number');
    if (k !== 'x') fields[k] = r.value();
    else {
      const at = r.pos;
      r.value(); // decoded once, so damage is found here, as for every other field, then dropped
      x = r.bytes.subarray(at, r.pos);
    }
  }
  return { fields, x };
}

/**
 * One manifest row (§7) back to an entry; `bad` makes the error for a malformed field; `own`
 * copies a SHA-256 or chunk list out of the decoded bytes (default: kept as it is). Each kind of
 * entry is made whole in one literal (one shape, no property added later: ~20 bytes less a file).
 */
export function decodeEntry(r: Record<string, unknown>, bad: (field: string) => Error, own: (v: Uint8Array) => Uint8Array = (v) => v): FileEntry {
  if (!r || typeof r.p !== 'string' || !KINDS.has(r.k as string) || !Number.isSafeInteger(r.s) || !Number.isSafeInteger(r.m)) throw bad('entry');
  if (r.pb !== undefined && !(r.pb instanceof Uint8Array)) throw bad(`entry ${r.p}`);
  const path = r.pb instanceof Uint8Array ? decodeName(r.pb) : r.p;
  const size = r.s as number;
  const mode = r.m as number;
  const mtimeMs = Number(r.t ?? 0);
  const meta = r.x as Record<string, string> | undefined;
  if (r.k === 'file') {
    if (!(r.h instanceof Uint8Array) || r.h.length !== 32 || !(r.c instanceof Uint8Array) || r.c.length % 32 !== 0) throw bad(`entry ${r.p}`);
    const sha256 = own(r.h);
    const chunks = own(r.c);
    return meta === undefined ? { path, kind: 'file', size, mode, mtimeMs, sha256, chunks } : { path, kind: 'file', size, mode, mtimeMs, sha256, chunks, meta };
  }
  if (r.k === 'symlink') {
    if (typeof r.l !== 'string' || (r.lb !== undefined && !(r.lb instanceof Uint8Array))) throw bad(`entry ${r.p}`);
    const target = r.lb instanceof Uint8Array ? decodeName(r.lb) : r.l;
    return meta === undefined ? { path, kind: 'symlink', size, mode, mtimeMs, target } : { path, kind: 'symlink', size, mode, mtimeMs, target, meta };
  }
  return meta === undefined ? { path, kind: 'dir', size, mode, mtimeMs } : { path, kind: 'dir', size, mode, mtimeMs, meta };
}

/** Number of chunks of a file entry. */
export function chunkCount(f: FileEntry): number {
  return f.chunks ? f.chunks.length / 32 : 0;
}

/** The i-th chunk id of a file entry. */
export function chunkId(f: FileEntry, i: number): Uint8Array {
  return f.chunks!.subarray(i * 32, i * 32 + 32);
}

/** Backup ids are also object names: a safe key segment. */
export function assertBackupId(id: unknown): void {
  checkBackupId(id);
}
