/**
 * RepoWriter: the write side of a backup session. It decides which chunks are new and lends out
 * pack buffers (shared memory) that the worker pool fills with stored chunks; a full pack
 * (about `config.packSize`) gets its header and trailer in place and is stored whole (bounded
 * uploads in flight), and an index object for stored packs is written every INDEX_EVERY packs
 * and at flush. Buffers are reused once their upload ends, so a session holds at most
 * (lanes + maxUploads) of them, whatever the size of the backup.
 * Order of visibility (spec/repository.md §8): pack, then the index naming it, then manifests.
 */
import type { Repository } from './repository.js';
import { sealPack, type BlobEntry } from './pack.js';
import type { PackRecord } from './index-file.js';
import { packKey } from './keys.js';
import { PACK_UPLOADS } from '../util/concurrency.js';

const INDEX_EVERY = 32;
/**
 * Room past a pack's last chunk for its header and trailer, else the whole pack goes to a copy
 * (issue #22: a new 16 MiB buffer and its page faults for each pack of a small-file backup). A
 * header row costs ~47 bytes a blob: an eighth of the pack holds it for blobs of ~400 bytes and
 * more on average. Pages of the room that no header reaches are never touched (not resident).
 */
const headerRoom = (packSize: number): number => Math.max(64 * 1024, Math.ceil(packSize / 8));
const NO_BUFFER = new SharedArrayBuffer(0);

interface WriterStats {
  newChunks: number;
  newBytes: number; // plain bytes of new chunks
  /** Stored (compressed, sealed) bytes of the new chunks, as the index records them: what `stats` calls added. */
  storedBytes: number;
  packs: number;
  /** Index objects written. */
  indexes: number;
}

/** One pack being filled: its buffer, the blobs recorded in it so far, and who fills it. */
interface PackSlot {
  buf: SharedArrayBuffer;
  size: number;
  blobs: BlobEntry[];
  storedHashes: Uint8Array[];
  stream: number;
  busy: boolean;
}

/** What a filler reports having written into a slot (the worker's DataMessage). */
interface SlotWrites {
  ids: Uint8Array; // k × 32
  offsets: number[];
  lengths: number[];
  storedHashes: Uint8Array; // k × 32
  codecs: number[];
  rawLengths: number[];
}

export class RepoWriter {
  readonly stats: WriterStats = { newChunks: 0, newBytes: 0, storedBytes: 0, packs: 0, indexes: 0 };
  /** A pack's blobs never run past this (unless one chunk does): the filler cuts before. */
  readonly cutAt: number;
  private readonly capacity: number;
  private readonly claimed = new Set<string>();
  private readonly slots: PackSlot[] = [];
  private readonly free: SharedArrayBuffer[] = [];
  private readonly uploads = new Set<Promise<void>>();
  private stored: PackRecord[] = [];
  private failure: unknown;
  /** Pack buffers made so far (each reused once its upload ends). */
  buffersMade = 0;
  /** Plain bytes of the chunks claimed whose pack is not yet stored (compressing, filling, waiting or uploading). */
  unstoredBytes = 0;
  /** Called each time a pack is stored (progress counts what is stored, not what is read); it must not throw. */
  onStored?: () => void;

  constructor(
    private readonly repo: Repository,
    private readonly maxUploads = PACK_UPLOADS,
    /** Aborts the uploads in flight (a write session's lock signal: a lost lock stops them). */
    private readonly signal?: AbortSignal,
  ) {
    this.cutAt = repo.config.packSize;
    this.capacity = Math.max(repo.config.packSize, repo.config.chunker.max) + headerRoom(repo.config.packSize);
  }

  /**
   * True when the chunk is neither in the repository nor already claimed by this session; a
   * claimed chunk's `plainSize` counts as unstored until its pack is stored.
   */
  claim(hex: string, plainSize = 0): boolean {
    if (this.claimed.has(hex) || this.repo.index.has(hex)) return false;
    this.claimed.add(hex);
    this.unstoredBytes += plainSize;
    return true;
  }

  /**
   * A slot to fill, for one filler at a time: the stream's own when it is free (so a lane's
   * chunks lie together in its packs), else any free one, else a new one.
   */
  lease(stream = 0): PackSlot {
    this.throwIfFailed();
    let s = this.slots.find((x) => !x.busy && x.stream === stream) ?? this.slots.find((x) => !x.busy);
    if (!s) this.slots.push((s = { buf: this.buffer(), size: 0, blobs: [], storedHashes: [], stream, busy: false }));
    s.busy = true;
    s.stream = stream;
    return s;
  }

  release(slot: PackSlot): void {
    slot.busy = false;
  }

  /** Records chunks a filler wrote into the slot, back to back from its end. */
  record(slot: PackSlot, w: SlotWrites): void {
    for (let i = 0; i < w.offsets.length; i++) {
      if (w.offsets[i] !== slot.size) throw new Error(`pack buffer: a chunk at ${w.offsets[i]}, expected ${slot.size}`);
      const id = w.ids.slice(i * 32, i * 32 + 32);
      slot.blobs.push({ id, offset: slot.size, length: w.lengths[i], rawLength: w.rawLengths[i], codec: w.codecs[i] });
      slot.storedHashes.push(w.storedHashes.slice(i * 32, i * 32 + 32));
      slot.size += w.lengths[i];
      this.stats.newChunks++;
      this.stats.newBytes += w.rawLengths[i];
      this.stats.storedBytes += w.lengths[i];
    }
  }

  /**
   * Stores the slot's pack (waiting while too many uploads run) and gives the slot an empty
   * buffer, which it returns (the filler goes on with it).
   */
  async cut(slot: PackSlot, refill = true): Promise<SharedArrayBuffer> {
    this.throwIfFailed();
    if (slot.blobs.length === 0) return slot.buf;
    while (this.uploads.size >= this.maxUploads) await Promise.race(this.uploads);
    this.throwIfFailed();
    const buf = slot.buf;
    const blobs = slot.blobs;
    const pack = sealPack(new Uint8Array(buf), slot.size, blobs, slot.storedHashes, this.repo.crypt);
    slot.buf = refill ? this.buffer() : NO_BUFFER;
    slot.size = 0;
    slot.blobs = [];
    slot.storedHashes = [];
    const p: Promise<void> = this.repo.store
      .put(packKey(pack.id), pack.bytes, { signal: this.signal })
      .then(async () => {
        this.stats.packs++;
        this.stored.push({ id: pack.id, blobs });
        for (const b of blobs) this.unstoredBytes -= b.rawLength;
        this.onStored?.(); // a report only: progress callbacks never throw to cancel (the session's signal does)
        if (this.stored.length >= INDEX_EVERY) await this.writeIndex();
      })
      .catch((e) => {
        this.failure ??= e;
      })
      .finally(() => {
        this.uploads.delete(p);
        this.free.push(buf); // a store keeps no reference to what it was given once put settles
      });
    this.uploads.add(p);
    return slot.buf;
  }

  /** A reused buffer when one is free, else a new one. */
  private buffer(): SharedArrayBuffer {
    const b = this.free.pop();
    if (b) return b;
    this.buffersMade++;
    return new SharedArrayBuffer(this.capacity);
  }

  private async writeIndex(): Promise<void> {
    const packs = this.stored;
    this.stored = [];
    if (packs.length === 0) return;
    await this.repo.writeIndex(packs, { signal: this.signal });
    this.stats.indexes++;
  }

  /** Stores the last packs, waits for every upload, writes the final index object. */
  async flush(): Promise<void> {
    for (const s of this.slots) await this.cut(s, false);
    this.slots.length = 0;
    this.free.length = 0;
    while (this.uploads.size > 0) await Promise.race(this.uploads);
    this.throwIfFailed();
    await this.writeIndex();
  }

  /**
   * Waits for uploads without writing more packs (after a failure elsewhere). With `index`, the
   * packs already stored are indexed (index after packs, as always), so the next backup reuses
   * them instead of storing them again; the packs being filled are dropped.
   */
  async abandon(o: { index?: boolean } = {}): Promise<void> {
    while (this.uploads.size > 0) await Promise.race(this.uploads);
    if (o.index && !this.failure) await this.writeIndex();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
