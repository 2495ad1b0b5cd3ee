/**
 * EMULATOR state: a MatrixOne home (`etc/launch/*.toml`, `mo-data/…`) holding ALL of the
 * emulator's data, read and written through the file services its configs name (cluster.ts,
 * localfs.ts), as MatrixOne would. Shapes followed (matrixorigin/matrixone):
 *  - TAE objects `<uuidv7>_<5 digits>` are immutable. SQL writes add appendable objects; a merge
 *    drops objects (soft delete: they stay listed, with their drop TS, until GC) and writes
 *    non-appendable objects of one new segment (`_00000`, `_00001`…); GC removes the dropped
 *    ones and old checkpoints and leaves a global checkpoint (start 0-0), a GC window file (the
 *    object table it scanned, `<uuid>_00000` in the shared root) and a GC meta naming it; the
 *    previous window's meta and file go.
 *  - Each checkpoint writes a checkpoint data object in the shared root and a meta
 *    `ckp/meta_<start>_<end>.ckp` naming it (pkg/objectio/ioutil/codec.go). Here every
 *    checkpoint lists the whole object table (real incremental checkpoints list only changes).
 *  - Restart: the newest checkpoint meta (by end TS) names the object table; the catalog is the
 *    replay of the live objects in list order. Every file is read through SHARED's backend, so
 *    raw bytes under DISK fail with "checksum not match", as MatrixOne fails.
 *  - The log service (hakeeper state in mo-data/logservice-data/<uuid>) bootstraps when that
 *    folder is absent, restoring HAKeeper IDs from hk_data (hakeeper.ts, logstore.ts).
 */
import { v7 as uuidv7 } from 'uuid';
import { localBackend, readCluster, type ClusterConf } from './cluster.js';
import { LocalFS } from './localfs.js';
import { bootLogService, type HakeeperState } from './logstore.js';
import {
  decodeCkpData, decodeCkpMeta, decodeGcMeta, decodeObject, encodeCkpData, encodeCkpMeta, encodeGcMeta, encodeGcWindow, encodeObject,
  objectName, parseRangeName, rangeName, type ObjEntry, type Op,
} from './objects.js';
import { cmpTs, ZERO, type TS } from './ts.js';

export type { Op, ObjEntry } from './objects.js';

export interface Table {
  cols: string[];
  rows: unknown[][];
}

export interface ObjectSize {
  min: number;
  max: number;
}

/** Objects a freshly bootstrapped cluster holds (system catalog). */
export const SYSTEM_OBJECTS = 3;

export class MoTree {
  /** every object the newest checkpoint lists: live and soft-deleted */
  entries: ObjEntry[] = [];
  catalog = new Map<string, Map<string, Table>>();
  ckpEnd: TS = ZERO;
  private lastTS: TS = ZERO;
  private ops = new Map<string, Op[]>();

  private constructor(
    readonly home: string,
    readonly conf: ClusterConf,
    readonly sharedFs: LocalFS,
    readonly hakeeper: HakeeperState,
    readonly objectSize: ObjectSize,
  ) {}

  /** mo-data/shared (or wherever SHARED lives), on disk */
  get shared(): string {
    return this.sharedFs.root;
  }

  get live(): ObjEntry[] {
    return this.entries.filter((e) => !e.dropTS);
  }

  get nextID(): number {
    return Number(this.hakeeper.nextID);
  }

  /** Starts on `home` (whose etc/launch must exist): reads configs, shared data, log service. */
  static async open(home: string, objectSize: ObjectSize): Promise<MoTree> {
    const conf = await readCluster(home);
    // launch order: log service, then TN (its LOCAL and SHARED file services, each checked as it opens)
    const hk = await bootLogService(conf);
    await LocalFS.open(conf.tnLocal.dir, localBackend(conf.tnLocal));
    const shared = await LocalFS.open(conf.shared.dir, localBackend(conf.shared));
    const t = new MoTree(home, conf, shared, hk, objectSize);
    await t.recover();
    return t;
  }

  /** Monotonic TS: wall clock in ns, logical 1. */
  now(): TS {
    let p = BigInt(Date.now()) * 1_000_000n;
    if (p <= this.lastTS.physical) p = this.lastTS.physical + 1000n;
    this.lastTS = { physical: p, logical: 1 };
    return this.lastTS;
  }

  /** Names of the checkpoint metas in ckp/, oldest end first. */
  async ckpMetas(): Promise<{ name: string; start: TS; end: TS }[]> {
    const out = [];
    for (const name of await this.sharedFs.list('ckp')) {
      const r = parseRangeName(name);
      if (r) out.push({ name, ...r });
    }
    return out.sort((a, b) => cmpTs(a.end, b.end));
  }

  private async recover(): Promise<void> {
    const metas = await this.ckpMetas();
    const latest = metas[metas.length - 1];
    if (!latest) {
      await this.bootstrap();
      return;
    }
    const location = decodeCkpMeta(await this.sharedFs.read(`ckp/${latest.name}`), latest.name);
    this.entries = decodeCkpData(await this.sharedFs.read(location), location);
    this.ckpEnd = latest.end;
    this.lastTS = latest.end;
    for (const e of this.entries) {
      if (cmpTs(e.createTS, this.lastTS) > 0) this.lastTS = e.createTS;
      if (e.dropTS && cmpTs(e.dropTS, this.lastTS) > 0) this.lastTS = e.dropTS;
      if (!e.dropTS) this.ops.set(e.name, decodeObject(await this.sharedFs.read(e.name), e.name));
    }
    this.rebuild();
  }

  /**
   * A new cluster: its system catalog (mo_catalog and friends) is already a few non-appendable
   * objects of one segment before any user write; they hold nothing the emulator's SQL shows.
   */
  private async bootstrap(): Promise<void> {
    const segment = uuidv7();
    for (let i = 0; i < SYSTEM_OBJECTS; i++) this.entries.push(await this.writeObject(objectName(segment, i), [], false));
    await this.checkpoint(false);
  }

  private rebuild(): void {
    this.catalog = new Map();
    for (const o of this.live) for (const op of this.ops.get(o.name)!) applyOp(this.catalog, op);
  }

  opsOf(name: string): Op[] {
    return this.ops.get(name) ?? [];
  }

  /** Adds one appendable object holding `ops`, then writes an incremental checkpoint. */
  async write(ops: Op[]): Promise<void> {
    for (const op of ops) if (op.op === 'createdb' || op.op === 'createtable') this.hakeeper.allocate();
    this.entries.push(await this.writeObject(objectName(uuidv7(), 0), ops, true));
    for (const op of ops) applyOp(this.catalog, op);
    await this.checkpoint(false);
  }

  async writeObject(name: string, ops: Op[], appendable: boolean, size?: number): Promise<ObjEntry> {
    const want = size ?? this.objectSize.min + Math.floor(Math.random() * (this.objectSize.max - this.objectSize.min + 1));
    const data = encodeObject(ops, want);
    await this.sharedFs.write(name, data);
    this.ops.set(name, ops);
    return { name, createTS: this.now(), size: data.length, appendable };
  }

  /** Writes a checkpoint data object and `ckp/meta_<start>_<end>.ckp`; global: start 0-0, older ones removed. */
  async checkpoint(global: boolean): Promise<TS> {
    const end = this.now();
    const start = global ? ZERO : this.ckpEnd;
    const location = objectName(uuidv7(), 0);
    await this.sharedFs.write(location, encodeCkpData(this.entries));
    const name = rangeName('meta', start, end);
    await this.sharedFs.write(`ckp/${name}`, encodeCkpMeta(location));
    this.ckpEnd = end;
    if (global) {
      for (const m of await this.ckpMetas()) {
        if (m.name === name) continue;
        const old = decodeCkpMeta(await this.sharedFs.read(`ckp/${m.name}`), m.name);
        await this.sharedFs.remove(`ckp/${m.name}`);
        await this.sharedFs.remove(old);
      }
    }
    return end;
  }

  /** The checkpoint data objects of the checkpoints in ckp/, oldest first. */
  async ckpLocations(): Promise<string[]> {
    const out: string[] = [];
    for (const m of await this.ckpMetas()) out.push(decodeCkpMeta(await this.sharedFs.read(`ckp/${m.name}`), m.name));
    return out;
  }

  /**
   * Merge: drops the `count` oldest live objects (soft delete) and writes their contents as
   * non-appendable objects of one new segment: `_00000` with the first half, `_00001` the rest.
   */
  async merge(count: number): Promise<void> {
    const merged = this.live.slice(0, Math.min(count, this.live.length));
    if (merged.length < 2) return;
    const ops = compact(merged.flatMap((o) => this.opsOf(o.name)));
    const half = Math.ceil(ops.length / 2);
    const first = ops.length > 1 ? ops.slice(0, half) : ops;
    const rest = ops.length > 1 ? ops.slice(half) : [];
    const segment = uuidv7();
    const total = Math.min(8 << 20, merged.reduce((s, o) => s + o.size, 0));
    const out = [await this.writeObject(objectName(segment, 0), first, false, rest.length ? Math.ceil(total / 2) : total)];
    if (rest.length) out.push(await this.writeObject(objectName(segment, 1), rest, false, Math.floor(total / 2)));
    const dropTS = this.now();
    const at = this.entries.findIndex((e) => e.name === merged[0]!.name);
    for (const e of this.entries) if (merged.some((m) => m.name === e.name)) e.dropTS = dropTS;
    this.entries.splice(at, 0, ...out);
    await this.checkpoint(false);
  }

  /**
   * Flush: the live appendable objects become one non-appendable object of a new segment
   * (TAE flushes and merges its appendable tail in the background; a backup sees it happen).
   */
  async flushAppendable(): Promise<void> {
    const tail = this.live.filter((e) => e.appendable);
    if (tail.length === 0) return;
    const ops = compact(tail.flatMap((o) => this.opsOf(o.name)));
    const total = Math.min(8 << 20, tail.reduce((s, o) => s + o.size, 0));
    const obj = await this.writeObject(objectName(uuidv7(), 0), ops, false, total);
    const dropTS = this.now();
    for (const e of this.entries) if (tail.some((t) => t.name === e.name)) e.dropTS = dropTS;
    const at = this.entries.findIndex((e) => e.name === tail[0]!.name);
    this.entries.splice(at, 0, obj);
  }

  /**
   * GC: removes dropped objects and old checkpoints, writes a global checkpoint, then the new GC
   * window: its object-table file in the shared root and `gc/gc_<start>_<end>.ckp` naming it
   * (window.go writeMetaForRemainings); the previous window's meta and file are removed.
   */
  async gc(): Promise<string[]> {
    const deleted = this.entries.filter((e) => e.dropTS).map((e) => e.name);
    for (const n of deleted) {
      await this.sharedFs.remove(n);
      this.ops.delete(n);
    }
    this.entries = this.entries.filter((e) => !e.dropTS);
    const end = await this.checkpoint(true);
    const old = (await this.sharedFs.list('gc')).map((n) => ({ n, r: parseRangeName(n) })).filter((x) => x.r);
    const start = old.map((x) => x.r!.end).sort(cmpTs).pop() ?? ZERO;
    const window = objectName(uuidv7(), 0);
    await this.sharedFs.write(window, encodeGcWindow(this.entries));
    await this.sharedFs.write(`gc/${rangeName('gc', start, end)}`, encodeGcMeta([window]));
    for (const x of old) {
      for (const f of decodeGcMeta(await this.sharedFs.read(`gc/${x.n}`), x.n)) await this.sharedFs.remove(f);
      await this.sharedFs.remove(`gc/${x.n}`);
    }
    return deleted;
  }

  /** The GC window files a GC meta names. */
  async gcWindowFiles(meta: string): Promise<string[]> {
    return decodeGcMeta(await this.sharedFs.read(`gc/${meta}`), meta);
  }

  /** HAKeeper's backup data (GetBackupData): its ID watermarks, protobuf-encoded. */
  hakeeperData(): Buffer {
    return this.hakeeper.backupData();
  }
}

/** The ops of several consecutive live objects, in replay order (what a merge writes). */
function compact(ops: Op[]): Op[] {
  return ops.map((o) => (o.op === 'insert' ? { ...o, rows: [...o.rows] } : o));
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
    case 'delete': {
      const t = cat.get(op.db)?.get(op.table);
      if (t) t.rows = t.rows.filter((r) => r[op.col] !== op.value);
      break;
    }
    case 'update':
      for (const r of cat.get(op.db)?.get(op.table)?.rows ?? []) if (r[op.col] === op.value) for (const [i, v] of op.set) r[i] = v;
      break;
  }
}
