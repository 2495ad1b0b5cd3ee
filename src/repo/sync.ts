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
import { hasKeyFiles, keyFileIds, KEYS_PREFIX } from '../crypto/keyfile.js';
import type { PackRecord } from './index-file.js';
import { CONFIG_KEY, manifestKey, packKey } from './keys.js';
import { chunkCount, chunkId, type Manifest } from './manifest.js';
import { checkPack, PackBuilder, type BlobEntry } from './pack.js';
import type { LockOptions } from './lock.js';
import { sharedSession, writeSession, type WriteSession } from './session.js';
import { Repository } from './repository.js';
import { manifestsToCopy, planTransfer, type TransferPlan } from './sync-plan.js';
import { mapLimit, WHOLE_PACKS } from '../util/concurrency.js';
import { sealedKeySet } from './sealed.js';
import type { MasterKey } from '../crypto/master.js';

export interface SyncProgress {
  packsDone: number;
  packsTotal: number;
  /** Bytes of the objects written so far (whole objects). */
  bytesSent: number;
  /** The stored bytes of every chunk to send (the packs' data, without their headers). */
  dataTotal: number;
  /** Of those, the bytes sent so far, counted as they go out within a pack (so one big pack moves the line). */
  dataDone: number;
  manifestsDone: number;
  manifestsTotal: number;
}

/** What sync needs of a worker pool: decode blobs and check each against its id. */
export interface BlobDecoder {
  decode(stored: Uint8Array[], codecs: number[], rawLengths: number[], ids: Uint8Array[], keys?: MasterKey): Promise<{ problems: (string | null)[] }>;
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
  const dstRepo = await Repository.open(dst, { masterKey: src.crypt?.master }); // same key set: ensureSameConfig
  // the destination's write session reloads its index and drops packs gone there (their chunks are sent again)
  return sharedSession(src, { purpose: 'sync (source)', signal: o.signal, lock: o.lock }, () =>
    writeSession(dstRepo, { purpose: 'sync (destination)', signal: o.signal, lock: o.lock }, async (session) => {
      await src.refreshIndex();
      return copy(src, session, o);
    }),
  );
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
    await copyKeyFiles(src, dst); // before the config, as init writes them
    try {
      await dst.put(CONFIG_KEY, await src.store.get(CONFIG_KEY), { ifNoneMatch: true });
      return;
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      data = await dst.get(CONFIG_KEY);
    }
  }
  const keySet = sealedKeySet(data);
  if (keySet !== src.crypt?.keySet) {
    // packs sealed under one master key open only with it (spec/encryption.md §8)
    const what = (k: string | undefined) => (k ? `encrypted (key set ${k})` : 'not encrypted');
    const both = `sync destination ${dst.location} is ${what(keySet)} and the source is ${what(src.crypt?.keySet)}`;
    throw new MobrError('BAD_INPUT', `${both}: packs can only be copied between repositories that share a master key; sync --reencrypt re-chunks and re-seals them for the target`);
  }
  await copyKeyFiles(src, dst); // a copy made before key files went along (spec/sync.md)
  const d = decodeConfig(data, `config of ${dst.location}`, src.sealing(CONFIG_KEY));
  const s = src.config;
  if (d.hash !== s.hash || d.chunker.algorithm !== s.chunker.algorithm || d.chunker.min !== s.chunker.min || d.chunker.avg !== s.chunker.avg || d.chunker.max !== s.chunker.max) {
    throw new MobrError('BAD_INPUT', `sync destination ${dst.location} is a repository with a different config (chunker ${d.chunker.min}/${d.chunker.avg}/${d.chunker.max}, source ${s.chunker.min}/${s.chunker.avg}/${s.chunker.max}): chunks would not deduplicate; sync into an empty place or a copy of this repository`);
  }
}

/**
 * An encrypted source's key files go to a destination that has none, so the copy opens with the
 * same passwords (a copy without them could never be read). A destination that already has key
 * files keeps its own: adding or removing a key at one end is not carried over.
 */
async function copyKeyFiles(src: Repository, dst: Store): Promise<void> {
  if (!src.crypt || (await hasKeyFiles(dst))) return;
  for (const id of await keyFileIds(src.store)) {
    const key = `${KEYS_PREFIX}/${id}`;
    try {
      await dst.put(key, await src.store.get(key), { ifNoneMatch: true });
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e; // another sync wrote the same file
    }
  }
}

async function copy(src: Repository, session: WriteSession, o: SyncOptions): Promise<SyncReport> {
  const dst = session.repo;
  const { manifests, present } = await manifestsToCopy(src, dst, o.ids ?? (await src.listBackupIds()));
  const r: SyncReport = { copied: [], present, packsCopied: 0, packsBuilt: 0, packsSkipped: 0, chunksSent: 0, bytesSent: 0, indexObjects: 0 };
  const plan = await planTransfer(src, dst, manifests);
  const dataTotal = sumLengths([...plan.whole.flatMap((p) => p.blobs), ...[...plan.partial.values()].flat()]);
  const packsTotal = plan.whole.length + plan.partial.size;
  const t = new Transfer(session, r, { packsDone: 0, packsTotal, bytesSent: 0, dataTotal, dataDone: 0, manifestsDone: 0, manifestsTotal: manifests.length }, o);
  t.report(); // 0 of the total before the first pack: the line shows at once, and rate and ETA count from here
  await sendWholePacks(src, t, plan, o.pool);
  await sendNeededChunks(src, t, plan, o.pool);
  await t.flushIndex();
  await sendManifests(src, t, manifests);
  return r;
}

/**
 * Writing to the destination, in its write session: counts what is sent, reports progress, and
 * writes an index object for every INDEX_EVERY packs stored (so a resumed run finds them
 * indexed). Its puts go through the session's fenced store (a lost lock aborts them), and each
 * pack and manifest starts only while the lock is held.
 */
class Transfer {
  private pending: PackRecord[] = [];
  readonly dst: Repository;
  /** Data of packs whole at the destination; the packs in flight, each's data sent so far. */
  private dataStored = 0;
  private readonly inFlight = new Map<object, number>();

  constructor(
    readonly session: WriteSession,
    readonly r: SyncReport,
    private readonly progress: SyncProgress,
    private readonly o: SyncOptions,
  ) {
    this.dst = session.repo;
  }

  async stored(p: PackRecord): Promise<void> {
    this.pending.push(p);
    if (this.pending.length >= INDEX_EVERY) await this.flushIndex();
  }

  async flushIndex(): Promise<void> {
    const packs = this.pending;
    this.pending = [];
    if (packs.length === 0) return;
    await this.dst.writeIndex(packs);
    this.r.indexObjects++;
  }

  /** Writes one object; `payload`: the chunk data in it (a pack's), told in proportion as its bytes go out. */
  async put(key: string, data: Uint8Array, ifNoneMatch = false, payload = 0): Promise<void> {
    const token = {};
    const onSent = (n: number) => {
      const part = data.length > 0 ? Math.floor((Math.min(n, data.length) * payload) / data.length) : 0;
      if (part <= (this.inFlight.get(token) ?? 0)) return; // a retry starting again: keep the highest
      this.inFlight.set(token, part);
      this.dataProgress();
    };
    try {
      await this.session.store.put(key, data, { ifNoneMatch, onSent });
    } finally {
      this.inFlight.delete(token);
    }
    this.r.bytesSent += data.length;
    this.progress.bytesSent = this.r.bytesSent;
    this.dataStored += payload;
    this.progress.dataDone = this.dataStored + sum(this.inFlight.values());
  }

  /** Chunk data that needs no sending (its pack is at the destination already) counts as done. */
  found(payload: number): void {
    this.dataStored += payload;
    this.progress.dataDone = this.dataStored + sum(this.inFlight.values());
  }

  private dataProgress(): void {
    const done = this.dataStored + sum(this.inFlight.values());
    if (done <= this.progress.dataDone) return;
    this.progress.dataDone = done;
    this.report();
  }

  report(): void {
    this.o.onProgress?.(this.progress);
  }

  packDone(): void {
    this.progress.packsDone++;
    this.report();
  }

  manifestDone(): void {
    this.progress.manifestsDone++;
    this.o.onProgress?.(this.progress);
  }

  /** LOCKED once the destination's lock is lost, INTERRUPTED once the caller's signal fired. */
  checkAbort(): void {
    this.session.lock.checkLost(); // a work loop: stops once the lock is lost; each manifest is fenced by assertHeld
    if (this.o.signal?.aborted) throw new MobrError('INTERRUPTED', `sync to ${this.dst.store.location} interrupted; run it again to resume`);
  }
}

/** Whole packs, under their own names (a few at once), each checked before it is written. */
async function sendWholePacks(src: Repository, t: Transfer, plan: TransferPlan, pool: BlobDecoder): Promise<void> {
  await mapLimit(plan.whole, WHOLE_PACKS, async (p) => {
    t.checkAbort();
    if (plan.dstFiles.has(p.id)) {
      await t.stored(await t.dst.readPackHeader(p.id));
      t.r.packsSkipped++;
      t.found(sumLengths(p.blobs));
    } else {
      const bytes = await src.store.get(packKey(p.id)).catch((e) => Promise.reject(withContext(`sync: read pack ${p.id.slice(0, 16)}`, e)));
      const blobs = checkPackBytes(src, bytes, p.id);
      await verifyBlobs(src, pool, bytes, blobs, `source pack ${p.id.slice(0, 16)}`);
      await t.put(packKey(p.id), bytes, false, sumLengths(blobs));
      await t.stored({ id: p.id, blobs });
      t.r.packsCopied++;
      t.r.chunksSent += blobs.length;
    }
    t.packDone();
  }); // a failure lets the other puts end first: an interrupted sync leaves no temp file behind
}

/**
 * Needed chunks of the other packs, into new packs. The order is deterministic, so a resumed run
 * builds the same packs and finds them already there.
 */
async function sendNeededChunks(src: Repository, t: Transfer, plan: TransferPlan, pool: BlobDecoder): Promise<void> {
  const builder = new PackBuilder(src.config.packSize + src.config.chunker.max, src.crypt);
  const cut = async () => {
    if (builder.count === 0) return;
    const built = builder.build();
    if (plan.dstFiles.has(built.id)) {
      t.r.packsSkipped++;
      t.found(sumLengths(built.blobs));
    } else {
      await t.put(packKey(built.id), built.bytes, false, sumLengths(built.blobs));
      t.r.packsBuilt++;
      t.r.chunksSent += built.blobs.length;
    }
    await t.stored({ id: built.id, blobs: built.blobs });
  };
  for (const packId of [...plan.partial.keys()].sort()) {
    t.checkAbort();
    const blobs = plan.partial.get(packId)!.sort((a, b) => a.offset - b.offset);
    const bytes = await src.store.get(packKey(packId)).catch((e) => Promise.reject(withContext(`sync: read pack ${packId.slice(0, 16)}`, e)));
    await verifyBlobs(src, pool, bytes, blobs, `source pack ${packId.slice(0, 16)}`);
    for (const b of blobs) {
      builder.add(b.id, copyOf(bytes, b.offset, b.offset + b.length), b.rawLength, b.codec);
      if (builder.length >= src.config.packSize) await cut();
    }
    t.packDone();
  }
  await cut();
}

/** Manifests last, each only once every chunk it names is indexed at the destination. */
async function sendManifests(src: Repository, t: Transfer, manifests: Manifest[]): Promise<void> {
  const { dst, r } = t;
  for (const m of manifests) {
    t.checkAbort();
    for (const f of m.files) {
      for (let i = 0; i < chunkCount(f); i++) {
        if (!dst.index.has(toHex(chunkId(f, i)))) throw new MobrError('NOT_FOUND', `sync: chunk ${toHex(chunkId(f, i)).slice(0, 16)} of backup ${m.id} did not reach ${dst.store.location}`);
      }
    }
    await t.session.assertHeld(); // fencing: never a manifest after losing the lock
    try {
      await t.put(manifestKey(m.id), await src.store.get(manifestKey(m.id)), true);
      r.copied.push(m.id);
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      r.present.push(m.id);
    }
    t.manifestDone();
  }
}

/** A whole pack, checked: its header against its name, its blob bytes against the header. */
function checkPackBytes(src: Repository, bytes: Uint8Array, packId: string): BlobEntry[] {
  const what = `source pack ${packId.slice(0, 16)}`;
  const { blobs, dataOk } = checkPack(bytes, packId, what, src.crypt);
  if (!dataOk) throw new MobrError('CORRUPT_PACK', `${what}: blob bytes do not match the header's hash (damaged)`);
  return blobs;
}

/** Decodes every blob in the pool and checks its BLAKE3 against its id. */
async function verifyBlobs(src: Repository, pool: BlobDecoder, bytes: Uint8Array, blobs: BlobEntry[], what: string): Promise<void> {
  for (let i = 0; i < blobs.length; i += 64) {
    const part = blobs.slice(i, i + 64);
    for (const b of part) if (b.offset + b.length > bytes.length) throw new MobrError('CORRUPT_PACK', `${what}: chunk ${toHex(b.id).slice(0, 16)} lies outside the pack`);
    const stored = part.map((b) => copyOf(bytes, b.offset, b.offset + b.length));
    const res = await pool.decode(stored, part.map((b) => b.codec), part.map((b) => b.rawLength), part.map((b) => copyOf(b.id, 0, 32)), src.crypt?.master);
    const bad = res.problems.findIndex((p) => p !== null);
    if (bad >= 0) throw new MobrError('CORRUPT_PACK', `${what}: chunk ${toHex(part[bad].id).slice(0, 16)} is damaged (${res.problems[bad]}); not copied`);
  }
}

function sum(ns: Iterable<number>): number {
  let s = 0;
  for (const n of ns) s += n;
  return s;
}

function sumLengths(blobs: { length: number }[]): number {
  return sum(blobs.map((b) => b.length));
}

/** A copy with its own ArrayBuffer (Buffer#slice is a view; the pool transfers what it is given). */
function copyOf(u: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(u, start, end);
}
