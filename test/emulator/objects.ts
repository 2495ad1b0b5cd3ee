/**
 * The bytes of the emulator's TAE files. MatrixOne's objectio format is not reproduced; each
 * file is a magic, a JSON header and (for data objects) incompressible filler up to the wanted
 * size, so sizes and churn behave like real objects while the catalog stays readable:
 *  - data object `<uuid>_<5 digits>`: the catalog operations it holds;
 *  - checkpoint data object (also `<uuid>_00000` in the shared root): the object entries of one
 *    checkpoint (every listed object with create/drop TS, size, appendable);
 *  - checkpoint meta `ckp/meta_<start>_<end>.ckp`: names its checkpoint data object;
 *  - GC window file (`<uuid>_00000` in the shared root, written by the GC's sinker,
 *    pkg/vm/engine/tae/db/gc/v3/window.go ScanCheckpoints / ExecuteGlobalCheckpointBasedGC):
 *    the object table the GC scanned (every object it keeps, with create/drop TS);
 *  - GC meta `gc/gc_<start>_<end>.ckp` (window.go writeMetaForRemainings): the ObjectStats of
 *    the window's files, here their names.
 */
import { randomBytes } from 'node:crypto';
import { parseTs, tsString, type TS } from './ts.js';

export type Op =
  | { op: 'createdb'; db: string }
  | { op: 'dropdb'; db: string }
  | { op: 'createtable'; db: string; table: string; cols: string[] }
  | { op: 'droptable'; db: string; table: string }
  | { op: 'insert'; db: string; table: string; rows: unknown[][] }
  /** rows whose column `col` equals `value`: removed, or with the columns of `set` changed */
  | { op: 'delete'; db: string; table: string; col: number; value: unknown }
  | { op: 'update'; db: string; table: string; col: number; value: unknown; set: [number, unknown][] };

export interface ObjEntry {
  name: string;
  createTS: TS;
  dropTS?: TS;
  size: number;
  appendable: boolean;
}

const OBJ = 'MOEMUOB1';
const CKP_DATA = 'MOEMUCD1';
const CKP_META = 'MOEMUCM1';
const GC_META = 'MOEMUGC1';
const GC_WINDOW = 'MOEMUGW1';

export function encodeObject(ops: Op[], size: number): Buffer {
  const header = Buffer.from(JSON.stringify({ ops }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const filler = randomBytes(Math.max(0, size - header.length - 12));
  return Buffer.concat([Buffer.from(OBJ), len, header, filler]);
}

export function decodeObject(b: Buffer, name: string): Op[] {
  if (b.subarray(0, 8).toString() !== OBJ) throw new Error(`emulator: ${name} is not a data object`);
  const len = b.readUInt32LE(8);
  return (JSON.parse(b.subarray(12, 12 + len).toString()) as { ops: Op[] }).ops;
}

interface EntryJson {
  name: string;
  createTS: string;
  dropTS?: string;
  size: number;
  appendable: boolean;
}

export function encodeCkpData(entries: ObjEntry[]): Buffer {
  const list: EntryJson[] = entries.map((e) => ({
    name: e.name, createTS: tsString(e.createTS), ...(e.dropTS ? { dropTS: tsString(e.dropTS) } : {}), size: e.size, appendable: e.appendable,
  }));
  return json(CKP_DATA, { entries: list });
}

export function decodeCkpData(b: Buffer, name: string): ObjEntry[] {
  const { entries } = unjson(b, CKP_DATA, name) as { entries: EntryJson[] };
  return entries.map((e) => ({ name: e.name, createTS: parseTs(e.createTS), ...(e.dropTS ? { dropTS: parseTs(e.dropTS) } : {}), size: e.size, appendable: e.appendable }));
}

export const encodeCkpMeta = (location: string): Buffer => json(CKP_META, { location, version: 1 });
export const decodeCkpMeta = (b: Buffer, name: string): string => (unjson(b, CKP_META, name) as { location: string }).location;
export const encodeGcMeta = (files: string[]): Buffer => json(GC_META, { files });
export const decodeGcMeta = (b: Buffer, name: string): string[] => (unjson(b, GC_META, name) as { files?: string[] }).files ?? [];
export const encodeGcWindow = (entries: ObjEntry[]): Buffer => Buffer.concat([Buffer.from(GC_WINDOW), encodeCkpData(entries)]);

function json(magic: string, v: unknown): Buffer {
  return Buffer.concat([Buffer.from(magic), Buffer.from(JSON.stringify(v))]);
}

function unjson(b: Buffer, magic: string, name: string): unknown {
  if (b.subarray(0, magic.length).toString() !== magic) throw new Error(`emulator: ${name} is not a ${magic} file`);
  return JSON.parse(b.subarray(magic.length).toString());
}

/** `meta_<start>_<end>.ckp` / `gc_<start>_<end>.ckp` (pkg/objectio/ioutil/codec.go). */
export function rangeName(prefix: 'meta' | 'gc', start: TS, end: TS): string {
  return `${prefix}_${tsString(start)}_${tsString(end)}.ckp`;
}

export function parseRangeName(name: string): { start: TS; end: TS } | undefined {
  const m = /^[a-z]+_(\d+-\d+)_(\d+-\d+)\.[a-z]+$/.exec(name);
  return m ? { start: parseTs(m[1]!), end: parseTs(m[2]!) } : undefined;
}

/** Object name `<segment uuid>_<file number, 5 digits>` (pkg/objectio BuildObjectName). */
export function objectName(segment: string, num: number): string {
  return `${segment}_${String(num).padStart(5, '0')}`;
}

export function splitObjectName(name: string): { segment: string; num: number } {
  const m = /^(.+)_(\d{5})$/.exec(name);
  if (!m) throw new Error(`emulator: ${name} is not an object name`);
  return { segment: m[1]!, num: Number(m[2]) };
}
