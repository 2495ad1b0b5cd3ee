/**
 * The catalog: `mo_br.meta`, one record per backup (mo_br's meta file; ours is JSON).
 * Default place: beside the executable (the folder of the `./mo_br` launcher); `--meta_path`
 * moves it. Layout (version 1):
 *
 *   {"format":"mobr.meta","version":1,"records":[BackupRecord...],"sha256":"<hex>"}
 *
 * where sha256 is the SHA-256 of JSON.stringify(records) exactly as written. A file that does
 * not parse, has another format, or fails its checksum is CORRUPT_META and is never overwritten.
 * Writes: under `<file>.lock` (lock.ts), to `<file>.tmp-<pid>-<rand>`, fsync, rename, fsync dir.
 * Records hold locations without credentials (locationToJSON keeps known non-secret fields only).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { MobrError, withContext } from '../errors.js';
import { locationToJSON, parseLocation, type BackupLocation } from './location.js';
import { withLock } from './lock.js';

export const META_FILE_NAME = 'mo_br.meta';
const FORMAT = 'mobr.meta';
const VERSION = 1;

export interface BackupRecord {
  /** Time-based UUID (v1), as mo_br's IDs. */
  id: string;
  /** Logical size of the backed-up files, bytes. */
  size: number;
  location: BackupLocation;
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

/** The meta file's default place: the folder holding the launcher (argv[1]). */
export function defaultMetaPath(argv: string[]): string {
  const exe = argv[1] ? path.resolve(argv[1]) : process.cwd();
  return path.join(path.dirname(exe), META_FILE_NAME);
}

function checksum(recordsJson: string): string {
  return createHash('sha256').update(recordsJson).digest('hex');
}

function corrupt(file: string, why: string): MobrError {
  return new MobrError('CORRUPT_META', `meta file ${file} is damaged (${why}); it was left unchanged`);
}

function toRecord(v: unknown): BackupRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const location = parseLocation(o.location);
  const num = (k: string) => typeof o[k] === 'number' && Number.isFinite(o[k]);
  if (typeof o.id !== 'string' || !location || !num('size') || !num('atTime') || !num('durationNs') || !num('completeTime')) return undefined;
  if (typeof o.backupTs !== 'string' || (o.backupType !== 'full' && o.backupType !== 'incremental')) return undefined;
  const r: BackupRecord = {
    id: o.id,
    size: o.size as number,
    location,
    atTime: o.atTime as number,
    durationNs: o.durationNs as number,
    completeTime: o.completeTime as number,
    backupTs: o.backupTs,
    backupType: o.backupType,
  };
  if (typeof o.baseId === 'string') r.baseId = o.baseId;
  if (typeof o.source === 'string') r.source = o.source;
  return r;
}

/** Parses a meta file's text; throws CORRUPT_META naming the file. */
export function parseMeta(text: string, file: string): BackupRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw corrupt(file, text.length === 0 ? 'empty' : 'not valid JSON');
  }
  const d = doc as Record<string, unknown>;
  if (typeof d !== 'object' || d === null || d.format !== FORMAT) throw corrupt(file, 'not a mobr meta file');
  if (d.version !== VERSION) throw corrupt(file, `unknown version ${JSON.stringify(d.version)}`);
  if (!Array.isArray(d.records) || typeof d.sha256 !== 'string') throw corrupt(file, 'records or checksum missing');
  if (checksum(JSON.stringify(d.records)) !== d.sha256) throw corrupt(file, 'checksum mismatch');
  const records: BackupRecord[] = [];
  for (const [i, raw] of d.records.entries()) {
    const r = toRecord(raw);
    if (!r) throw corrupt(file, `record ${i + 1} is malformed`);
    records.push(r);
  }
  return records;
}

/** Serialises records; only the known fields of each record are written (never credentials). */
export function serializeMeta(records: BackupRecord[]): string {
  const clean = records.map((r) => {
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
  });
  const recordsJson = JSON.stringify(clean);
  return `{"format":"${FORMAT}","version":${VERSION},"records":${recordsJson},"sha256":"${checksum(recordsJson)}"}\n`;
}

export class Catalog {
  readonly file: string;
  constructor(file: string) {
    this.file = path.resolve(file);
  }

  /** All records, oldest first; a missing file is an empty catalog. */
  async read(): Promise<BackupRecord[]> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      if (code === 'EACCES' || code === 'EPERM') throw new MobrError('ACCESS_DENIED', `cannot read meta file ${this.file}: permission denied`);
      if (code === 'EISDIR') throw new MobrError('BAD_INPUT', `meta path ${this.file} is a folder; give a file`);
      throw withContext(`read meta file ${this.file}`, e);
    }
    return parseMeta(text, this.file);
  }

  /** The record with that ID, or ENOENT_BACKUP. */
  async get(id: string): Promise<BackupRecord> {
    const r = (await this.read()).find((x) => x.id === id);
    if (!r) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${this.file}`);
    return r;
  }

  /** Read-modify-write under the lock; fn's result replaces the records atomically. */
  async update(fn: (records: BackupRecord[]) => BackupRecord[]): Promise<void> {
    await withLock(`${this.file}.lock`, async () => {
      const next = fn(await this.read());
      await this.writeAtomic(serializeMeta(next));
    });
  }

  async add(record: BackupRecord): Promise<void> {
    await this.update((rs) => {
      if (rs.some((r) => r.id === record.id)) throw new MobrError('BAD_INPUT', `backup ID ${record.id} is already in ${this.file}`);
      return [...rs, record];
    });
  }

  async remove(id: string): Promise<void> {
    await this.update((rs) => {
      if (!rs.some((r) => r.id === id)) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${this.file}`);
      return rs.filter((r) => r.id !== id);
    });
  }

  private async writeAtomic(text: string): Promise<void> {
    const dir = path.dirname(this.file);
    const tmp = `${this.file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const fh = await fsp.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.file);
      const dh = await fsp.open(dir, 'r').catch(() => undefined);
      if (dh) await dh.sync().catch(() => undefined).finally(() => dh.close());
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new MobrError('ACCESS_DENIED', `cannot write meta file ${this.file}: permission denied`);
      throw withContext(`write meta file ${this.file}`, e);
    }
  }
}

/**
 * A record as `--json` shows it (spec/json.md): sizes in bytes, times as ISO-8601 (UTC), the
 * duration in nanoseconds and backupTs as MatrixOne's TS string; the location without keys.
 */
export function recordJson(r: BackupRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: r.id,
    size: r.size,
    location: locationToJSON(r.location),
    atTime: new Date(r.atTime).toISOString(),
    durationNs: r.durationNs,
    completeTime: new Date(r.completeTime).toISOString(),
    backupTs: r.backupTs,
    backupType: r.backupType,
  };
  if (r.baseId !== undefined) o.baseId = r.baseId;
  if (r.source !== undefined) o.source = r.source;
  return o;
}
