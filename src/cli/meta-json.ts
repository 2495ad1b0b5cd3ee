/**
 * The catalog's former layout (mobr before spec/meta.md), read once to convert it:
 *
 *   {"format":"mobr.meta","version":1,"records":[BackupRecord...],"sha256":"<hex>"}
 *
 * where sha256 is the SHA-256 of JSON.stringify(records) exactly as written.
 */
import { createHash } from 'node:crypto';
import { MobrError } from '../errors.js';
import { parseLocation } from '../store/location.js';
import { cleanRecord, type BackupRecord } from './meta-line.js';

const FORMAT = 'mobr.meta';
const VERSION = 1;

/** True when the text is the former JSON layout (its first bytes). */
export function isLegacyMeta(text: string): boolean {
  return text.startsWith(`{"format":"${FORMAT}"`);
}

function checksum(recordsJson: string): string {
  return createHash('sha256').update(recordsJson).digest('hex');
}

function corrupt(file: string, why: string, cause?: unknown): MobrError {
  return new MobrError('CORRUPT_META', `meta file ${file} is damaged (${why}); it was left unchanged`, { cause });
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

/** Parses a version-1 JSON meta file's text; throws CORRUPT_META naming the file. */
export function parseLegacyMeta(text: string, file: string): BackupRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, text.length === 0 ? 'empty' : 'not valid JSON', e);
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

/** Writes the version-1 JSON form (tests make old catalogs with it). */
export function serializeLegacyMeta(records: BackupRecord[]): string {
  const clean = records.map(cleanRecord);
  const recordsJson = JSON.stringify(clean);
  return `{"format":"${FORMAT}","version":${VERSION},"records":${recordsJson},"sha256":"${checksum(recordsJson)}"}\n`;
}
