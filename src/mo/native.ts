/**
 * A backup folder in MatrixOne's own layout, as its BACKUP statement and mo_br write it (a local
 * folder or an S3 prefix; spec/matrixone.md, "Native backup folders"): recognised by its
 * `mo_meta`, checked file by file in mo_br's order, and read as a source for restore.
 *  - Framing: S3 targets are raw; a local folder is LocalFS-framed under tae/ and hakeeper/ (DISK
 *    cluster) or raw (DISK-V2), decided once from a sidecar's size (36 bytes framed, 32 raw) or,
 *    without sidecars, from tae_list's first block.
 *  - Checks: each written file against its `.sha256` (or pre-release `.md5`) sidecar, each object
 *    against its tae_list size and checksum (size alone for rows the server left without one),
 *    every framed block against its CRC-32C, tae_sum's size against tae_list.
 *  - `needCopy=false` rows name files an earlier backup holds: not in this folder, not checked;
 *    a restore of such a folder stops before writing anything.
 */
import { createHash } from 'node:crypto';
import { MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { Store, StoreEntry } from '../store/store.js';
import { framedSize, looksFramed, unframeStream } from './framing.js';
import {
  checkShown,
  compareCheckOrder,
  parseMoMeta,
  parseTaeList,
  parseTaeSum,
  sidecarPath,
  SIDECAR_ALGOS,
  type SidecarAlgo,
  type TaeFileEntry,
} from './layout.js';

type Framing = 'crc' | 'raw';
const PIECE = 8 << 20;

export interface NativeFolder {
  store: Store;
  framing: Framing;
  entries: Map<string, StoreEntry>;
}

/** Files MatrixOne and mo_br write with a sidecar (pkg/backup/fs.go writeFile). */
const isWritten = (p: string) => ['mo_meta', 'backup_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data'].includes(p) || p.startsWith('config/');
const isFramedPath = (p: string) => p.startsWith('tae/') || p.startsWith('hakeeper/');
const isSidecar = (p: string) => SIDECAR_ALGOS.some((a) => p.endsWith(`.${a}`));

/** The folder at `store` when it is a native backup folder (it has mo_meta); undefined otherwise. */
export async function openNativeFolder(store: Store, kind: 'filesystem' | 's3'): Promise<NativeFolder | undefined> {
  if (!(await store.has('mo_meta'))) return undefined;
  const entries = new Map<string, StoreEntry>();
  for await (const e of store.list('')) entries.set(e.key, e);
  let framing: Framing = 'raw';
  if (kind === 'filesystem') {
    const side = ['tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']
      .flatMap((p) => SIDECAR_ALGOS.map((a) => ({ e: entries.get(sidecarPath(p, a)), a })))
      .find((x) => x.e);
    if (side) framing = side.e!.size === framedSize(side.a === 'sha256' ? 32 : 16) ? 'crc' : 'raw';
    else if (entries.has('tae/tae_list')) {
      framing = looksFramed(await store.getRange('tae/tae_list', 0, Math.min(2048, entries.get('tae/tae_list')!.size))) ? 'crc' : 'raw';
    }
  }
  return { store, framing, entries };
}

async function* ranges(store: Store, key: string, size: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < size; off += PIECE) yield await store.getRange(key, off, Math.min(PIECE, size - off));
}

/** The logical bytes of a layout file of the folder, CRCs checked when it is framed. */
export function readNative(folder: NativeFolder, rel: string): AsyncIterable<Uint8Array> {
  const e = folder.entries.get(rel);
  if (!e) throw new MobrError('NOT_FOUND', `${rel} is missing from the backup folder ${folder.store.location}`);
  const raw = ranges(folder.store, rel, e.size);
  return folder.framing === 'crc' && isFramedPath(rel) ? unframeStream(raw, rel) : raw;
}

async function readAll(folder: NativeFolder, rel: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of readNative(folder, rel)) parts.push(c);
  return Buffer.concat(parts);
}

/** The digest a sidecar holds (hex), undefined without one; CORRUPT when it is malformed. */
async function sidecarOf(folder: NativeFolder, rel: string): Promise<{ algo: SidecarAlgo; hex: string } | undefined> {
  for (const algo of SIDECAR_ALGOS) {
    const side = sidecarPath(rel, algo);
    if (!folder.entries.has(side)) continue;
    const bytes = await readAll(folder, side);
    if (bytes.length !== (algo === 'sha256' ? 32 : 16)) throw new MobrError('CORRUPT', `${side}: ${bytes.length} bytes, not a raw ${algo} digest`);
    return { algo, hex: bytes.toString('hex') };
  }
  return undefined;
}

interface NativeFile {
  path: string;
  size: number;
  sha256?: string;
  mtimeMs?: number;
}

interface NativeCheck {
  files: NativeFile[];
  damaged: { path: string; problem: string }[];
  /** tae_list rows (needCopy=false) whose file an earlier backup holds. */
  notCopied: string[];
  /** objects whose tae_list row lists another size but their SHA-256 (GC window rows of v2.0.1-v4.1.x) */
  listedSize: string[];
  id?: string;
}

/** Checks every file; `onFile` gets mo_br's name (`/mo_meta`, `tae/x`) and the problem, if any. */
export async function checkNativeFolder(folder: NativeFolder, onFile?: (shown: string, problem?: string) => void): Promise<NativeCheck> {
  const out: NativeCheck = { files: [], damaged: [], notCopied: [], listedSize: [] };
  const anySidecar = [...folder.entries.keys()].some(isSidecar);
  let rows: TaeFileEntry[] = [];
  let configs: string[] = [];
  const one = async (rel: string, check: () => Promise<NativeFile>) => {
    const shown = checkShown(rel);
    try {
      out.files.push(await check());
      onFile?.(shown);
    } catch (e) {
      const problem = e instanceof MobrError ? e.message.replace(`${rel}: `, '') : String((e as Error)?.message ?? e);
      out.damaged.push({ path: rel, problem });
      onFile?.(shown, problem);
    }
  };
  const written = (rel: string, then?: (data: Buffer) => void) => async (): Promise<NativeFile> => {
    const e = folder.entries.get(rel);
    if (!e) throw new MobrError('NOT_FOUND', 'missing');
    const data = await readAll(folder, rel);
    const side = await sidecarOf(folder, rel);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (!side && anySidecar) throw new MobrError('CORRUPT', `no ${rel}.sha256 beside it`);
    if (side && createHash(side.algo).update(data).digest('hex') !== side.hex) {
      throw new MobrError('CORRUPT', `${side.algo} does not match ${rel}.${side.algo}`);
    }
    then?.(data);
    return { path: rel, size: data.length, sha256, mtimeMs: e.mtimeMs };
  };
  if (folder.entries.has('backup_meta')) await one('backup_meta', written('backup_meta', (d) => (out.id = /^id,([^,\n]*),/m.exec(d.toString('utf8'))?.[1])));
  await one('mo_meta', written('mo_meta', (d) => (configs = parseMoMeta(d).flatMap((r) => (r.type === 'launchconfig' ? [`config/${r.file}`] : [])))));
  await one('hakeeper/hk_data', written('hakeeper/hk_data'));
  await one('tae/tae_list', written('tae/tae_list', (d) => (rows = parseTaeList(d))));
  await one('tae/tae_sum', written('tae/tae_sum', (d) => {
    const sum = parseTaeSum(d);
    const listed = rows.reduce((s, r) => s + r.size, 0);
    if (rows.length > 0 && sum.size !== listed) throw new MobrError('CORRUPT', `size ${sum.size} is not the sum of tae/tae_list's sizes (${listed})`);
  }));
  // mo_meta's launch configs and any other file under config/, by name (the seed's order)
  const allConfigs = new Set([...configs, ...[...folder.entries.keys()].filter((k) => k.startsWith('config/') && !isSidecar(k))]);
  for (const rel of [...allConfigs].sort()) await one(rel, written(rel));
  // the objects by path (compareCheckOrder), as a repository's backup is checked
  for (const row of [...rows].sort((a, b) => compareCheckOrder(`tae/${a.path}`, `tae/${b.path}`))) {
    const rel = `tae/${row.path}`;
    if (!folder.entries.has(rel) && !row.needCopy) {
      out.notCopied.push(rel);
      continue;
    }
    await one(rel, async () => {
      const e = folder.entries.get(rel);
      if (!e) throw new MobrError('NOT_FOUND', 'missing');
      const sha = createHash('sha256');
      let size = 0;
      for await (const c of readNative(folder, rel)) {
        sha.update(c);
        size += c.length;
      }
      const hex = sha.digest('hex');
      const sumOk = row.checksum !== '' && row.checksum === hex;
      // v2.0.1-v4.1.x list a GC window object with its GC meta's size: its SHA-256 decides (listed-size.ts)
      const either = row.checksum !== '' ? ', and its SHA-256 does not match either' : '';
      if (size !== row.size && !sumOk) throw new MobrError('CORRUPT', `${size} bytes, tae/tae_list says ${row.size}${either}`);
      if (row.checksum !== '' && !sumOk) throw new MobrError('CORRUPT', 'SHA-256 does not match tae/tae_list');
      if (size !== row.size) out.listedSize.push(rel);
      return { path: rel, size, sha256: row.checksum || undefined, mtimeMs: e.mtimeMs };
    });
  }
  out.files.sort((a, b) => compareCheckOrder(a.path, b.path));
  return out;
}


/** A manifest of the folder's files (for restore and export), from a clean check. */
export function nativeManifest(folder: NativeFolder, check: NativeCheck, fallbackId: string): Manifest {
  if (check.damaged.length > 0) {
    const d = check.damaged[0]!;
    const first = `${check.damaged.length} file(s), first ${d.path}: ${d.problem}`;
    throw new MobrError('CORRUPT', `the backup folder ${folder.store.location} fails its check (${first}); nothing restored`);
  }
  if (check.notCopied.length > 0) {
    const where = `${check.notCopied.length} file(s) (first ${check.notCopied[0]}) lie in an earlier backup (needCopy=false)`;
    throw new MobrError('NOT_AVAILABLE', `the backup folder ${folder.store.location} is incremental: ${where}; nothing restored`);
  }
  const now = systemClock.now();
  const files: FileEntry[] = check.files.map((f) => ({
    path: f.path, kind: 'file', size: f.size, mode: 0o644, mtimeMs: f.mtimeMs ?? now,
    sha256: f.sha256 ? new Uint8Array(Buffer.from(f.sha256, 'hex')) : undefined,
  }));
  return {
    version: 1,
    id: check.id || fallbackId,
    type: 'full',
    startedAt: now,
    completedAt: now,
    source: { kind: 'matrixone', nativeFolder: folder.store.location },
    files,
    logicalSize: files.reduce((s, f) => s + f.size, 0),
    addedBytes: 0,
  };
}
