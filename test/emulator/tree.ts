/**
 * EMULATOR state: a MatrixOne-like `<home>/mo-data` tree that holds ALL of the emulator's data.
 * MatrixOne cannot run here; this imitates its shape for backup tests. Where MatrixOne's source
 * and this file disagree, the source wins. Shapes followed (matrixorigin/matrixone):
 *  - cmd/mo-service/config.go: fileservice dirs are `<data-dir>/<name>` (mo-data/shared,
 *    mo-data/local), log service data in mo-data/logservice-data/<uuid>.
 *  - pkg/objectio: object names `<uuidv7>_<5-digit file number>`, immutable.
 *  - pkg/objectio/ioutil/codec.go: checkpoint metas `ckp/meta_<startTS>_<endTS>.ckp`
 *    (a global checkpoint has start 0-0), GC metas `gc/gc_<startTS>_<endTS>.ckp`.
 *  - etc/launch/*.toml: launch.toml naming log.toml, tn.toml, cn.toml.
 *
 * The contents are the emulator's own encoding (JSON headers plus incompressible filler), not
 * MatrixOne's object format. Catalog = replay of the ops held by the objects the newest
 * checkpoint lists, in list order; a (re)start recovers everything from the tree alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { compareTS, formatTS, parseTS, ZERO_TS, type MoTS } from '../../src/mo/layout.js';

export type Op =
  | { op: 'createdb'; db: string }
  | { op: 'dropdb'; db: string }
  | { op: 'createtable'; db: string; table: string; cols: string[] }
  | { op: 'droptable'; db: string; table: string }
  | { op: 'insert'; db: string; table: string; rows: unknown[][] };

export interface LiveObject {
  name: string;
  createTS: MoTS;
  size: number;
}

export interface Table {
  cols: string[];
  rows: unknown[][];
}

export interface ObjectSize {
  min: number;
  max: number;
}

const OBJ_MAGIC = 'MOEMUOB1';
const CKP_MAGIC = 'MOEMUCK1';
const GC_MAGIC = 'MOEMUGC1';
export const LOG_UUID = '7c4dccb4-4d3c-41f8-b482-5251dc7a41bf';
const LAUNCH_FILES: Record<string, string> = {
  'launch.toml': 'logservices = [\n    "./etc/launch/log.toml",\n]\n\ntnservices = [\n    "./etc/launch/tn.toml"\n]\n\ncnservices = [\n    "./etc/launch/cn.toml"\n]\n',
  'log.toml': 'service-type = "LOG"\ndata-dir = "./mo-data"\n\n[log]\nlevel = "info"\n',
  'tn.toml':
    'service-type = "TN"\ndata-dir = "./mo-data"\n\n[[fileservice]]\nname = "LOCAL"\nbackend = "DISK-V2"\n\n[[fileservice]]\nname = "SHARED"\nbackend = "DISK-V2"\ndata-dir = "./mo-data/shared"\n\n[tn]\nuuid = "dd4dccb4-4d3c-41f8-b482-5251dc7a41bf"\nport-base = 19000\n',
  'cn.toml': 'service-type = "CN"\ndata-dir = "./mo-data"\n\n[cn]\nuuid = "dd1dccb4-4d3c-41f8-b482-5251dc7a41bf"\nport-base = 18000\n',
};
/** mo_meta launchconfig subtype of each launch file (pkg/backup/types.go, cmd/mo-service/launch.go). */
export const LAUNCH_TYPES: Record<string, string> = { 'launch.toml': 'launch', 'log.toml': 'log', 'tn.toml': 'dn', 'cn.toml': 'cn' };

export class MoTree {
  readonly home: string;
  readonly shared: string;
  live: LiveObject[] = [];
  catalog = new Map<string, Map<string, Table>>();
  ckpEnd: MoTS = ZERO_TS;
  nextID = 1;
  private lastTS: MoTS = ZERO_TS;
  private ops = new Map<string, Op[]>();

  constructor(home: string, readonly objectSize: ObjectSize) {
    this.home = home;
    this.shared = join(home, 'mo-data', 'shared');
  }

  /** Opens the tree, creating a fresh one (launch configs, empty checkpoint) if none exists. */
  static async open(home: string, objectSize: ObjectSize): Promise<MoTree> {
    const t = new MoTree(home, objectSize);
    await mkdir(join(t.shared, 'ckp'), { recursive: true });
    await mkdir(join(t.shared, 'gc'), { recursive: true });
    await mkdir(join(home, 'etc', 'launch'), { recursive: true });
    for (const [f, text] of Object.entries(LAUNCH_FILES)) {
      const p = join(home, 'etc', 'launch', f);
      if (!(await exists(p))) await writeFile(p, text);
    }
    await t.recover();
    return t;
  }

  /** Monotonic TS: wall clock in ns, logical 1 (MatrixOne's TN commits use logical counters too). */
  now(): MoTS {
    let p = BigInt(Date.now()) * 1_000_000n;
    if (p <= this.lastTS.physical) p = this.lastTS.physical + 1000n;
    this.lastTS = { physical: p, logical: 1 };
    return this.lastTS;
  }

  private async recover(): Promise<void> {
    const ckps = (await readdir(join(this.shared, 'ckp'))).map(decodeRangeName).filter((x) => x !== null);
    ckps.sort((a, b) => compareTS(a!.end, b!.end));
    const hk = join(this.home, 'mo-data', 'logservice-data', LOG_UUID, 'hk_state');
    const restoredHk = join(this.home, 'mo-data', 'local', 'hk_data');
    for (const p of [hk, restoredHk]) {
      if (await exists(p)) this.nextID = Math.max(this.nextID, decodeHk(await readFile(p)).nextID);
    }
    const latest = ckps[ckps.length - 1];
    if (!latest) {
      await this.checkpoint(false);
      return;
    }
    const body = await readFile(join(this.shared, 'ckp', latest.name));
    const meta = decodeJson(body, CKP_MAGIC) as { objects: { name: string; createTS: string; size: number }[] };
    this.ckpEnd = latest.end;
    this.lastTS = latest.end;
    this.live = meta.objects.map((o) => ({ name: o.name, createTS: parseTS(o.createTS), size: o.size }));
    for (const o of this.live) {
      this.ops.set(o.name, await readObjectOps(join(this.shared, o.name)));
      if (compareTS(o.createTS, this.lastTS) > 0) this.lastTS = o.createTS;
    }
    this.rebuild();
  }

  private rebuild(): void {
    this.catalog = new Map();
    for (const o of this.live) for (const op of this.ops.get(o.name)!) applyOp(this.catalog, op);
  }

  /** Adds one immutable object holding `ops`, then writes a new incremental checkpoint. */
  async write(ops: Op[]): Promise<void> {
    const obj = await this.writeObject(ops);
    this.live.push(obj);
    for (const op of ops) applyOp(this.catalog, op);
    await this.checkpoint(false);
  }

  private async writeObject(ops: Op[], size?: number): Promise<LiveObject> {
    const name = `${uuidv7()}_00000`;
    const createTS = this.now();
    const header = Buffer.from(JSON.stringify({ createTS: formatTS(createTS), ops }));
    const want = size ?? this.objectSize.min + Math.floor(Math.random() * (this.objectSize.max - this.objectSize.min + 1));
    const filler = randomBytes(Math.max(0, want - header.length - 12));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    const data = Buffer.concat([Buffer.from(OBJ_MAGIC), len, header, filler]);
    await writeFile(join(this.shared, name), data, { flag: 'wx' });
    this.ops.set(name, ops);
    return { name, createTS, size: data.length };
  }

  /**
   * Writes `ckp/meta_<start>_<end>.ckp` listing the live objects. `global` (after GC) writes a
   * global checkpoint (start 0-0) and removes the older checkpoint metas.
   */
  async checkpoint(global: boolean): Promise<MoTS> {
    const end = this.now();
    const start = global ? ZERO_TS : this.ckpEnd;
    const name = `meta_${formatTS(start)}_${formatTS(end)}.ckp`;
    const body = encodeJson(CKP_MAGIC, {
      objects: this.live.map((o) => ({ name: o.name, createTS: formatTS(o.createTS), size: o.size })),
    });
    await writeFile(join(this.shared, 'ckp', name), body);
    this.ckpEnd = end;
    if (global) {
      for (const f of await readdir(join(this.shared, 'ckp'))) if (f !== name) await rm(join(this.shared, 'ckp', f), { force: true });
    }
    return end;
  }

  /** Merge: replaces the `count` oldest live objects by one compacted object. */
  async merge(count: number): Promise<void> {
    const n = Math.min(count, this.live.length);
    if (n < 2) return;
    const merged = this.live.slice(0, n);
    const cat = new Map<string, Map<string, Table>>();
    for (const o of merged) for (const op of this.ops.get(o.name)!) applyOp(cat, op);
    const ops: Op[] = [];
    for (const [db, tables] of cat) {
      ops.push({ op: 'createdb', db });
      for (const [table, t] of tables) {
        ops.push({ op: 'createtable', db, table, cols: t.cols });
        if (t.rows.length) ops.push({ op: 'insert', db, table, rows: t.rows });
      }
    }
    const size = Math.min(8 << 20, merged.reduce((s, o) => s + o.size, 0));
    const obj = await this.writeObject(ops, size);
    this.live.splice(0, n, obj);
    await this.checkpoint(false);
  }

  /** GC: deletes objects no checkpoint references, records them in a GC meta, writes a global checkpoint. */
  async gc(): Promise<string[]> {
    const liveNames = new Set(this.live.map((o) => o.name));
    const deleted: string[] = [];
    for (const f of await readdir(this.shared)) {
      if (/_\d{5}$/.test(f) && !liveNames.has(f)) {
        await rm(join(this.shared, f), { force: true });
        this.ops.delete(f);
        deleted.push(f);
      }
    }
    const end = await this.checkpoint(true);
    const gcDir = join(this.shared, 'gc');
    const old = await readdir(gcDir);
    const start = old.map(decodeRangeName).filter((x) => x !== null).sort((a, b) => compareTS(a!.end, b!.end)).pop()?.end ?? ZERO_TS;
    const name = `gc_${formatTS(start)}_${formatTS(end)}.ckp`;
    await writeFile(join(gcDir, name), encodeJson(GC_MAGIC, { deleted }));
    for (const f of old.sort().slice(0, -1)) await rm(join(gcDir, f), { force: true });
    return deleted;
  }

  /** HA keeper data as MatrixOne's GetBackupData would give it (here: our own encoding). */
  async hakeeperData(): Promise<Buffer> {
    this.nextID += 1;
    const dir = join(this.home, 'mo-data', 'logservice-data', LOG_UUID);
    await mkdir(dir, { recursive: true });
    const data = encodeJson('MOEMUHK1', { nextID: this.nextID, nextIDByKey: {} });
    await writeFile(join(dir, 'hk_state'), data);
    return data;
  }

  /** Checkpoint and GC metadata files, relative to mo-data/shared. */
  async metaFiles(): Promise<{ path: string; size: number }[]> {
    const out: { path: string; size: number }[] = [];
    for (const dir of ['ckp', 'gc']) {
      for (const f of (await readdir(join(this.shared, dir))).sort()) {
        out.push({ path: `${dir}/${f}`, size: (await stat(join(this.shared, dir, f))).size });
      }
    }
    return out;
  }
}

export function applyOp(cat: Map<string, Map<string, Table>>, op: Op): void {
  switch (op.op) {
    case 'createdb':
      if (!cat.has(op.db)) cat.set(op.db, new Map());
      break;
    case 'dropdb':
      cat.delete(op.db);
      break;
    case 'createtable':
      cat.get(op.db)?.set(op.table, { cols: op.cols, rows: [] });
      break;
    case 'droptable':
      cat.get(op.db)?.delete(op.table);
      break;
    case 'insert':
      cat.get(op.db)?.get(op.table)?.rows.push(...op.rows);
      break;
  }
}

function decodeRangeName(name: string): { name: string; end: MoTS } | null {
  const m = /^[a-z]+_(\d+-\d+)_(\d+-\d+)\.[a-z]+$/.exec(name);
  return m ? { name, end: parseTS(m[2]!) } : null;
}

function encodeJson(magic: string, v: unknown): Buffer {
  return Buffer.concat([Buffer.from(magic), Buffer.from(JSON.stringify(v))]);
}

function decodeJson(b: Buffer, magic: string): unknown {
  if (b.subarray(0, magic.length).toString() !== magic) throw new Error(`emulator: bad ${magic} file`);
  return JSON.parse(b.subarray(magic.length).toString());
}

function decodeHk(b: Buffer): { nextID: number } {
  try {
    return decodeJson(b, 'MOEMUHK1') as { nextID: number };
  } catch {
    return { nextID: 1 };
  }
}

async function readObjectOps(path: string): Promise<Op[]> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.subarray(0, 8).toString() !== OBJ_MAGIC) throw new Error(`emulator: ${path} is not an object`);
    const len = head.readUInt32LE(8);
    const body = Buffer.alloc(len);
    await fh.read(body, 0, len, 12);
    return (JSON.parse(body.toString()) as { ops: Op[] }).ops;
  } finally {
    await fh.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
