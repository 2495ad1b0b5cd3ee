/**
 * Copying backups from one repository to another store (spec/sync.md): same config, packs the
 * destination lacks (whole when every chunk in them is missing there, else only the needed chunks
 * in new packs), each verified (header hash = name, every chunk's BLAKE3 in the worker pool)
 * before it is written; destination index objects after their packs, manifests last.
 * Resumable: packs already at the destination are not sent again; idempotent.
 */
import { MobrError, isMobrError, withContext } from '../errors.js';
import { toHex } from '../hash/hex.js';
import type { Store } from '../store/store.js';
import { decodeConfig } from './config.js';
import { decodeIndex, type PackRecord } from './index-file.js';
import { CONFIG_KEY, manifestKey, packIdFromKey, packKey } from './keys.js';
import { chunkCount, chunkId, type Manifest } from './manifest.js';
import { checkPack, PackBuilder, type BlobEntry } from './pack.js';
import { withSharedLock, type LockOptions } from './lock.js';
import { Repository } from './repository.js';
import { mapLimit } from '../util/concurrency.js';

export interface SyncProgress {
  packsDone: number;
  packsTotal: number;
  bytesSent: number;
  manifestsDone: number;
  manifestsTotal: number;
}

/** What sync needs of a worker pool: decode blobs and check each against its id. */
export interface BlobDecoder {
  decode(stored: Uint8Array[], codecs: number[], rawLengths: number[], ids: Uint8Array[]): Promise<{ problems: (string | null)[] }>;
}

export interface SyncOptions {
  /** Backups to copy (default: all of the source's). */
  ids?: string[];
  onProgress?: (p: SyncProgress) => void;
  /** Decodes and checks blobs off the main thread (the caller's worker pool). */
  pool: BlobDecoder;
  /** Aborting stops between packs with INTERRUPTED; what is done stays (resumable). */
  signal?: AbortSignal;
  lock?: LockOptions;
}

export interface SyncReport {
  copied: string[]; // manifests written
  present: string[]; // already at the destination
  packsCopied: number; // whole packs sent under their own name
  packsBuilt: number; // new packs of needed chunks
  packsSkipped: number; // already at the destination (an interrupted run), only indexed
  chunksSent: number;
  bytesSent: number;
  indexObjects: number;
}

const INDEX_EVERY = 32;

/** Copies backups of src into the repository at dst (created with src's config if empty). */
export async function syncRepository(src: Repository, dst: Store, o: SyncOptions): Promise<SyncReport> {
  await ensureSameConfig(src, dst);
  const dstRepo = await Repository.open(dst);
  return withSharedLock(src, () =>
    withSharedLock(dstRepo, async (dstLock) => {
      await src.refreshIndex();
      await dstRepo.refreshIndex();
      await dstRepo.dropUnsoundPacks(); // chunks of packs gone at the destination are sent again
      return copy(src, dstRepo, o.pool, o, () => dstLock.assertHeld());
    }, { purpose: 'sync (destination)', ...o.lock }),
  { purpose: 'sync (source)', ...o.lock });
}

async function ensureSameConfig(src: Repository, dst: Store): Promise<void> {
  let data: Uint8Array | undefined;
  try {
    data = await dst.get(CONFIG_KEY);
  } catch (e) {
    if (!isMobrError(e, 'NOT_FOUND')) throw e;
  }
  if (!data) {
    for await (const _ of dst.list('')) throw new MobrError('BAD_INPUT', `sync destination ${dst.location} is not empty and holds no mobr repository`);
    try {
      await dst.put(CONFIG_KEY, await src.store.get(CONFIG_KEY), { ifNoneMatch: true });
      return;
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      data = await dst.get(CONFIG_KEY);
    }
  }
  const d = decodeConfig(data, `config of ${dst.location}`);
  const s = src.config;
  if (d.hash !== s.hash || d.chunker.algorithm !== s.chunker.algorithm || d.chunker.min !== s.chunker.min || d.chunker.avg !== s.chunker.avg || d.chunker.max !== s.chunker.max) {
    throw new MobrError('BAD_INPUT', `sync destination ${dst.location} is a repository with a different config (chunker ${d.chunker.min}/${d.chunker.avg}/${d.chunker.max}, source ${s.chunker.min}/${s.chunker.avg}/${s.chunker.max}): chunks would not deduplicate; sync into an empty place or a copy of this repository`);
  }
}

async function copy(src: Repository, dst: Repository, pool: BlobDecoder, o: SyncOptions, fence: () => Promise<void>): Promise<SyncReport> {
  const r: SyncReport = { copied: [], present: [], packsCopied: 0, packsBuilt: 0, packsSkipped: 0, chunksSent: 0, bytesSent: 0, indexObjects: 0 };
  const ids = o.ids ?? (await src.listBackupIds());
  const manifests: Manifest[] = [];
  for (const id of ids) {
    if (await dst.hasBackup(id)) r.present.push(id);
    else manifests.push(await src.loadManifest(id));
  }
  manifests.sort((a, b) => a.completedAt - b.completedAt || (a.id < b.id ? -1 : 1));

  // What the destination lacks, and which source pack holds each such chunk.
  const missing = new Set<string>();
  for (const m of manifests) {
    for (const f of m.files) {
      for (let i = 0; i < chunkCount(f); i++) {
        const h = toHex(chunkId(f, i));
        if (dst.index.has(h) || missing.has(h)) continue;
        if (!src.index.has(h)) throw new MobrError('NOT_FOUND', `sync: backup ${m.id} names chunk ${h.slice(0, 16)} the source lacks (run check on the source)`);
        missing.add(h);
      }
    }
  }
  const records = await packRecords(src.store);
  const dstFiles = new Set<string>();
  for await (const e of dst.store.list('data')) {
    const id = packIdFromKey(e.key);
    if (id) dstFiles.add(id);
  }
  const whole: PackRecord[] = [];
  const covered = new Set<string>();
  for (const p of [...records.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (p.blobs.length > 0 && p.blobs.every((b) => missing.has(toHex(b.id)))) {
      whole.push(p);
      p.blobs.forEach((b) => covered.add(toHex(b.id)));
    }
  }
  const partial = new Map<string, BlobEntry[]>(); // source pack -> blobs to take from it
  for (const h of missing) {
    if (covered.has(h)) continue;
    const loc = src.index.get(h)!;
    const blob = records.get(loc.pack)?.blobs.find((b) => b.offset === loc.offset) ?? { id: Buffer.from(h, 'hex'), offset: loc.offset, length: loc.length, rawLength: loc.rawLength, codec: loc.codec };
    partial.set(loc.pack, [...(partial.get(loc.pack) ?? []), blob]);
  }

  const progress: SyncProgress = { packsDone: 0, packsTotal: whole.length + partial.size, bytesSent: 0, manifestsDone: 0, manifestsTotal: manifests.length };
  let pending: PackRecord[] = [];
  const stored = async (p: PackRecord) => {
    pending.push(p);
    if (pending.length >= INDEX_EVERY) await flushIndex();
  };
  const flushIndex = async () => {
    const packs = pending;
    pending = [];
    if (packs.length === 0) return;
    await dst.writeIndex(packs);
    r.indexObjects++;
  };
  const put = async (key: string, data: Uint8Array, ifNoneMatch = false) => {
    await dst.store.put(key, data, { ifNoneMatch });
    r.bytesSent += data.length;
    progress.bytesSent = r.bytesSent;
  };
  const tick = () => {
    progress.packsDone++;
    o.onProgress?.(progress);
  };
  const checkAbort = () => {
    if (o.signal?.aborted) throw new MobrError('INTERRUPTED', `sync to ${dst.store.location} interrupted; run it again to resume`);
  };

  // Whole packs, under their own names (a few at once).
  await mapLimit(whole, 3, async (p) => {
    checkAbort();
    if (dstFiles.has(p.id)) {
      await stored(await dst.readPackHeader(p.id));
      r.packsSkipped++;
    } else {
      const bytes = await src.store.get(packKey(p.id)).catch((e) => Promise.reject(withContext(`sync: read pack ${p.id.slice(0, 16)}`, e)));
      const blobs = checkPackBytes(bytes, p.id);
      await verifyBlobs(pool, bytes, blobs, `source pack ${p.id.slice(0, 16)}`);
      await put(packKey(p.id), bytes);
      await stored({ id: p.id, blobs });
      r.packsCopied++;
      r.chunksSent += blobs.length;
    }
    tick();
  }); // a failure lets the other puts end first: an interrupted sync leaves no temp file behind

  // Needed chunks of other packs, into new packs; deterministic order, so a resumed run builds
  // the same packs and finds them already there.
  const builder = new PackBuilder(src.config.packSize + src.config.chunker.max);
  const cut = async () => {
    if (builder.count === 0) return;
    const built = builder.build();
    if (dstFiles.has(built.id)) r.packsSkipped++;
    else {
      await put(packKey(built.id), built.bytes);
      r.packsBuilt++;
      r.chunksSent += built.blobs.length;
    }
    await stored({ id: built.id, blobs: built.blobs });
  };
  for (const packId of [...partial.keys()].sort()) {
    checkAbort();
    const blobs = partial.get(packId)!.sort((a, b) => a.offset - b.offset);
    const bytes = await src.store.get(packKey(packId)).catch((e) => Promise.reject(withContext(`sync: read pack ${packId.slice(0, 16)}`, e)));
    await verifyBlobs(pool, bytes, blobs, `source pack ${packId.slice(0, 16)}`);
    for (const b of blobs) {
      builder.add(b.id, copyOf(bytes, b.offset, b.offset + b.length), b.rawLength, b.codec);
      if (builder.length >= src.config.packSize) await cut();
    }
    tick();
  }
  await cut();
  await flushIndex();

  // Manifests last, each only once every chunk it names is indexed at the destination.
  for (const m of manifests) {
    checkAbort();
    for (const f of m.files) {
      for (let i = 0; i < chunkCount(f); i++) {
        if (!dst.index.has(toHex(chunkId(f, i)))) throw new MobrError('NOT_FOUND', `sync: chunk ${toHex(chunkId(f, i)).slice(0, 16)} of backup ${m.id} did not reach ${dst.store.location}`);
      }
    }
    await fence();
    try {
      await put(manifestKey(m.id), await src.store.get(manifestKey(m.id)), true);
      r.copied.push(m.id);
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      r.present.push(m.id);
    }
    progress.manifestsDone++;
    o.onProgress?.(progress);
  }
  return r;
}

/** Every pack record named by the store's index objects (first one wins). */
async function packRecords(store: Store): Promise<Map<string, PackRecord>> {
  const out = new Map<string, PackRecord>();
  for await (const e of store.list('index')) {
    let data: Uint8Array;
    try {
      data = await store.get(e.key);
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      throw err;
    }
    for (const p of decodeIndex(data, e.key)) if (!out.has(p.id)) out.set(p.id, p);
  }
  return out;
}

/** A whole pack, checked: its header against its name, its blob bytes against the header. */
function checkPackBytes(bytes: Uint8Array, packId: string): BlobEntry[] {
  const what = `source pack ${packId.slice(0, 16)}`;
  const { blobs, dataOk } = checkPack(bytes, packId, what);
  if (!dataOk) throw new MobrError('CORRUPT_PACK', `${what}: blob bytes do not match the header's hash (damaged)`);
  return blobs;
}

/** Decodes every blob in the pool and checks its BLAKE3 against its id. */
async function verifyBlobs(pool: BlobDecoder, bytes: Uint8Array, blobs: BlobEntry[], what: string): Promise<void> {
  for (let i = 0; i < blobs.length; i += 64) {
    const part = blobs.slice(i, i + 64);
    for (const b of part) if (b.offset + b.length > bytes.length) throw new MobrError('CORRUPT_PACK', `${what}: chunk ${toHex(b.id).slice(0, 16)} lies outside the pack`);
    const res = await pool.decode(part.map((b) => copyOf(bytes, b.offset, b.offset + b.length)), part.map((b) => b.codec), part.map((b) => b.rawLength), part.map((b) => copyOf(b.id, 0, 32)));
    const bad = res.problems.findIndex((p) => p !== null);
    if (bad >= 0) throw new MobrError('CORRUPT_PACK', `${what}: chunk ${toHex(part[bad].id).slice(0, 16)} is damaged (${res.problems[bad]}); not copied`);
  }
}

/** A copy with its own ArrayBuffer (Buffer#slice is a view; the pool transfers what it is given). */
function copyOf(u: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(u, start, end);
}
