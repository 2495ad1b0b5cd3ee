/**
 * EMULATOR of MatrixOne's server-side BACKUP, written from matrixorigin/matrixone (where the
 * source and this file disagree, the source wins):
 *  - pkg/backup/backup.go: build info, configs, TAE, HAKeeper, mo_meta last; fs.go writeFile
 *    adds `<file>.sha256` (raw 32-byte SHA-256 of the content) through the same file service.
 *  - pkg/vm/engine/tae/rpc/handle_debug.go HandleBackup + db.go ForceCheckpointForBackup:
 *    backup time = UTC wall clock; a forced checkpoint, then a special checkpoint from
 *    start = (newest checkpoint end).Next() to now; BACKUPTS (tae_sum) = that start.
 *  - pkg/backup/tae.go execBackup and logtail/backup.go LoadCheckpointEntriesFromKey: every
 *    checkpoint's data object is copied (ts 0-0); objects listed by the checkpoints are copied
 *    unless live and appendable; needCopy iff no base TS or created/dropped at or after it;
 *    needCopy=false rows carry no checksum; ckp/ and gc/ metas are copied with ts = start;
 *    appendable objects dropped inside the special checkpoint are rewritten as
 *    `<segment>_<1000+num>`, a new checkpoint data object and the merged meta
 *    `ckp/meta_<start>_<end>.ckp` are written: all needCopy=true WITHOUT checksum.
 *  - tae.go CopyGCDir: `.snap`/`.acct` metas are copied as they are; for each GC meta
 *    (`.ckp`, `.fgc`, by end TS) from v2.0.1 the objects its window names are copied first
 *    (checksum = their SHA-256) and listed with the META's size up to v4.1.x, their own from
 *    v4.2.0; then the metas. Before v2.0.1 only the metas are copied.
 *  - v3.0.0+: objects in `tae/file_list` at the target are not copied (and marked needCopy=true
 *    at the end); v3.0.6+: objects in the newest `file_index_<ts>.idx` at the root are
 *    needCopy=false.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parse } from 'smol-toml';
import { v7 as uuidv7 } from 'uuid';
import { LAUNCH_TYPES } from './cluster.js';
import { readCsv } from './csv.js';
import { dateTimeUTC, moMeta, taeList, taeSum, type TaeRow } from './layout.js';
import { decodeCkpData, encodeCkpData, encodeCkpMeta, encodeObject, objectName, parseRangeName, rangeName, splitObjectName, type ObjEntry } from './objects.js';
import type { Sink } from './sink.js';
import type { MoTree } from './tree.js';
import { cmpTs, isZero, nextTs, parseTs, ZERO, type TS } from './ts.js';
import { serverVersion, type ServerVersion } from './version.js';

export { dirSink, s3Sink, type S3Opts, type Sink } from './sink.js';

export interface BackupArgs {
  type: string;
  baseTS?: string;
  version?: ServerVersion;
  /** leave rewritten files' checksums empty, as MatrixOne does (default true) */
  checksumless?: boolean;
}

export class BackupError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

export const buildInfo = (v: ServerVersion): string =>
  `GoVersion: go1.22.3|BranchName: HEAD|CommitID: 0000000emulator|BuildTime: 20240515-0000|Version: v${v.text}-emulator`;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** Runs one backup of `tree` into `sink`; returns BACKUPTS (the special checkpoint's start). */
export async function runBackup(tree: MoTree, sink: Sink, args: BackupArgs): Promise<TS> {
  const v = args.version ?? serverVersion('1.2.0');
  if (await sink.exists('mo_meta')) throw new BackupError(20406, 'file mo_meta already exists');
  const base = args.baseTS ? parseTs(args.baseTS) : ZERO;
  const writeFile = async (put: (r: string, d: Uint8Array) => Promise<void>, rel: string, data: Uint8Array) => {
    await put(rel, data);
    await put(`${rel}.sha256`, sha256(data));
  };
  const configs = await backupConfigs(tree, (rel, d) => writeFile(sink.putGeneral, rel, d));
  const { rows, start, backupTime } = await backupTae(tree, sink, base, v, args.checksumless ?? true);
  const size = rows.reduce((s, r) => s + r.size, 0);
  await writeFile(sink.putTae, 'tae/tae_list', Buffer.from(taeList(rows, v)));
  await writeFile(sink.putTae, 'tae/tae_sum', Buffer.from(taeSum(backupTime, size, start, args.type, v)));
  await writeFile(sink.putTae, 'hakeeper/hk_data', tree.hakeeperData());
  await writeFile(sink.putGeneral, 'mo_meta', Buffer.from(moMeta(buildInfo(v), configs)));
  return start;
}

/** The launch file and the files it names (cmd/mo-service/launch.go SaveLaunchConfigPath). */
async function backupConfigs(tree: MoTree, write: (rel: string, d: Uint8Array) => Promise<void>) {
  const launch = 'etc/launch/launch.toml';
  const conf = parse(await readFile(resolve(tree.home, launch), 'utf8')) as Record<string, string[] | undefined>;
  const files: [string, string][] = [['launch', launch]];
  for (const [k, sub] of [['logservices', 'log'], ['tnservices', 'dn'], ['cnservices', 'cn'], ['proxy-services', 'proxy']] as const) {
    for (const f of conf[k] ?? []) files.push([sub, f]);
  }
  const out: { subtype: string; file: string }[] = [];
  for (const [subtype, f] of files) {
    let data: Buffer;
    try {
      data = await readFile(resolve(tree.home, f));
    } catch {
      continue; // MatrixOne logs and neglects an unreadable config
    }
    const file = `${basename(f)}_${uuidv7()}`;
    out.push({ subtype: LAUNCH_TYPES[basename(f)] ?? subtype, file });
    await write(`config/${file}`, data);
  }
  return out;
}

interface BackupObject {
  name: string;
  size: number;
  needCopy: boolean;
  ts: TS;
}

async function backupTae(tree: MoTree, sink: Sink, base: TS, v: ServerVersion, checksumless: boolean) {
  const index = v.fileIndex ? await loadFileIndex(sink, v) : new Set<string>();
  // mo_ctl('dn','Backup',''): forced checkpoint, then the special checkpoint (start, end]
  const backupTime = dateTimeUTC(new Date());
  const start = nextTs(await tree.checkpoint(false));
  await tree.flushAppendable();
  const end = tree.now();
  const special = tree.entries.filter((e) => cmpTs(e.dropTS ?? e.createTS, start) >= 0);
  const specialLoc = objectName(uuidv7(), 0);
  await tree.sharedFs.write(specialLoc, encodeCkpData(special));
  const locations = [specialLoc, ...(await tree.ckpLocations())];

  const files = new Map<string, BackupObject>();
  const add = (o: BackupObject) => files.has(o.name) || files.set(o.name, o);
  for (const loc of locations) {
    const entries = decodeCkpData(await tree.sharedFs.read(loc), loc);
    add({ name: loc, size: (await tree.sharedFs.size(loc))!, needCopy: true, ts: ZERO });
    for (const e of entries) {
      if (e.size === 0 || (!e.dropTS && e.appendable)) continue;
      const needCopy = isZero(base) || cmpTs(e.createTS, base) >= 0 || cmpTs(e.dropTS ?? e.createTS, base) >= 0;
      add({ name: e.name, size: e.size, needCopy, ts: e.createTS });
    }
  }
  const have = new Set<string>();
  if (v.fileList) {
    const names = await sink.list('tae');
    if (names[0] === 'file_list') for (const l of (await sink.readTae('tae/file_list'))!.toString().split('\n')) have.add(l);
  }
  for (const o of files.values()) if (have.has(o.name) || index.has(o.name)) o.needCopy = false;

  const rows: TaeRow[] = [];
  const copy = async (src: string, dst: string, ts: TS) => {
    const data = await tree.sharedFs.read(src);
    await sink.putTae(`tae/${dst}`, data);
    rows.push({ path: dst, size: data.length, checksum: sha256(data), needCopy: true, ts });
  };
  for (const o of files.values()) {
    if (o.needCopy) await copy(o.name, o.name, o.ts);
    else rows.push({ path: o.name, size: o.size, needCopy: false, ts: o.ts });
  }
  for (const m of await tree.ckpMetas()) if (cmpTs(m.end, start) <= 0 && cmpTs(m.start, start) < 0) await copy(`ckp/${m.name}`, `ckp/${m.name}`, start);
  await copyGcDir(tree, start, v, copy, rows);

  // rewrite: trimmed appendable objects, the checkpoint at `start`, the merged checkpoint meta
  const written = async (rel: string, data: Buffer) => {
    await sink.putTae(`tae/${rel}`, data);
    rows.push({ path: rel, size: data.length, ...(checksumless ? {} : { checksum: sha256(data) }), needCopy: true, ts: start });
  };
  const atStart: ObjEntry[] = [];
  for (const e of tree.entries) {
    if (cmpTs(e.createTS, start) >= 0) continue;
    if (e.dropTS && cmpTs(e.dropTS, start) < 0) {
      atStart.push(e);
      continue;
    }
    if (!e.appendable) {
      atStart.push({ ...e, dropTS: undefined });
      continue;
    }
    const { segment, num } = splitObjectName(e.name);
    const name = objectName(segment, 1000 + num);
    const data = encodeObject(tree.opsOf(e.name), Math.max(64, e.size - 64));
    await written(name, data);
    atStart.push({ name, createTS: e.createTS, size: data.length, appendable: false });
  }
  const ckpData = objectName(uuidv7(), 0);
  await written(ckpData, encodeCkpData(atStart));
  await written(`ckp/${rangeName('meta', start, end)}`, encodeCkpMeta(ckpData));
  for (const r of rows) if (have.has(r.path)) r.needCopy = true;
  return { rows, start, backupTime };
}

type Copy = (src: string, dst: string, ts: TS) => Promise<void>;

/** pkg/backup/tae.go CopyGCDir (copyFileAndGetMetaFiles with decoder DecodeGCMetadataName). */
async function copyGcDir(tree: MoTree, start: TS, v: ServerVersion, copy: Copy, rows: TaeRow[]): Promise<void> {
  const metas: { name: string; end: TS }[] = [];
  for (const g of await tree.sharedFs.list('gc')) {
    const r = parseRangeName(g);
    if (r && cmpTs(r.start, start) >= 0) continue; // a meta starting at or after the backup TS is skipped
    if (/\.(snap|acct)$/.test(g) || !r) await copy(`gc/${g}`, `gc/${g}`, start);
    else if (/\.(ckp|fgc)$/.test(g)) metas.push({ name: g, end: r.end });
  }
  metas.sort((a, b) => cmpTs(a.end, b.end));
  for (const m of metas) {
    if (!v.gcWindowCopy) continue;
    const metaSize = (await tree.sharedFs.size(`gc/${m.name}`))!;
    for (const f of await tree.gcWindowFiles(m.name)) {
      await copy(f, f, start);
      if (!v.gcRowSizeFixed) rows[rows.length - 1]!.size = metaSize; // files[metaFile.GetIdx()].Size
    }
  }
  for (const m of metas) await copy(`gc/${m.name}`, `gc/${m.name}`, start);
}

/**
 * pkg/backup/file_index.go LoadGlobalFileIndex, reading the target root through the backup file
 * service: names `file_index_<ts>.idx`; the newest by STRING comparison of `<ts>` up to v4.1.x,
 * from v4.2.0 by TS, skipping a `<ts>` that is not `<int64>-<uint32>` with physical >= 0
 * (parseFileIndexTimestamp). Unreadable (raw bytes on DISK: checksum not match) or not CSV
 * (Go's reader: same field count in every record): no index, the backup goes on.
 */
async function loadFileIndex(sink: Sink, v: ServerVersion): Promise<Set<string>> {
  let best: { name: string; key: string; ts?: TS } | undefined;
  for (const name of await sink.list('')) {
    if (!name.startsWith('file_index_') || !name.endsWith('.idx')) continue;
    const key = name.slice('file_index_'.length, name.length - '.idx'.length);
    if (!v.fileIndexTsOrder) {
      if (key > (best?.key ?? '')) best = { name, key };
      continue;
    }
    const m = /^\+?(\d+)-(\d+)$/.exec(key);
    if (!m || BigInt(m[1]!) >= 1n << 63n || BigInt(m[2]!) >= 1n << 32n) continue;
    const ts = parseTs(`${BigInt(m[1]!)}-${BigInt(m[2]!)}`);
    if (!best || cmpTs(best.ts!, ts) < 0) best = { name, key, ts };
  }
  if (!best) return new Set();
  const data = await sink.readTae(best.name).catch(() => undefined);
  if (!data) return new Set();
  const rows = readCsv(data.toString());
  if (rows.some((r) => r.length !== rows[0]!.length)) return new Set();
  return new Set(rows.map((r) => r[0]!));
}
