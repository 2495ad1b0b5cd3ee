/**
 * RepoWriter: the write side of a backup session. It decides which chunks are new, gathers them
 * into packs of about `config.packSize`, stores each pack whole (bounded uploads in flight),
 * and writes an index object for stored packs every INDEX_EVERY packs and at flush.
 * Order of visibility (spec/repository.md §8): pack, then the index naming it, then manifests.
 */
import type { Repository } from './repository.js';
import { PackBuilder } from './pack.js';
import type { PackRecord } from './index-file.js';
import { packKey } from './keys.js';

const INDEX_EVERY = 32;

export interface WriterStats {
  newChunks: number;
  newBytes: number; // plain bytes of new chunks
  storedBytes: number; // bytes of packs + index objects written
  packs: number;
}

export class RepoWriter {
  readonly stats: WriterStats = { newChunks: 0, newBytes: 0, storedBytes: 0, packs: 0 };
  private readonly claimed = new Set<string>();
  /** One pack being filled per stream (an ingesting lane), so each file's chunks lie together. */
  private readonly builders = new Map<number, PackBuilder>();
  private readonly uploads = new Set<Promise<void>>();
  private stored: PackRecord[] = [];
  private failure: unknown;

  constructor(
    private readonly repo: Repository,
    private readonly maxUploads = 2,
  ) {}

  /** True when the chunk is neither in the repository nor already claimed by this session. */
  claim(hex: string): boolean {
    if (this.claimed.has(hex) || this.repo.index.has(hex)) return false;
    this.claimed.add(hex);
    return true;
  }

  /** Adds a claimed chunk's stored bytes; may wait while too many packs are being uploaded. */
  async add(id: Uint8Array, stored: Uint8Array, rawLength: number, codec: number, storedHash?: Uint8Array, stream = 0): Promise<void> {
    this.throwIfFailed();
    let b = this.builders.get(stream);
    if (!b) this.builders.set(stream, (b = new PackBuilder(this.repo.config.packSize + this.repo.config.chunker.max)));
    b.add(id, stored, rawLength, codec, storedHash);
    this.stats.newChunks++;
    this.stats.newBytes += rawLength;
    if (b.length >= this.repo.config.packSize) await this.cut(b);
  }

  private async cut(builder: PackBuilder): Promise<void> {
    if (builder.count === 0) return;
    const pack = builder.build();
    while (this.uploads.size >= this.maxUploads) await Promise.race(this.uploads);
    this.throwIfFailed();
    const p: Promise<void> = this.repo.store
      .put(packKey(pack.id), pack.bytes)
      .then(async () => {
        this.stats.packs++;
        this.stats.storedBytes += pack.bytes.length;
        this.stored.push({ id: pack.id, blobs: pack.blobs });
        if (this.stored.length >= INDEX_EVERY) await this.writeIndex();
      })
      .catch((e) => {
        this.failure ??= e;
      })
      .finally(() => this.uploads.delete(p));
    this.uploads.add(p);
  }

  private async writeIndex(): Promise<void> {
    const packs = this.stored;
    this.stored = [];
    if (packs.length > 0) await this.repo.writeIndex(packs);
  }

  /** Stores the last pack, waits for every upload, writes the final index object. */
  async flush(): Promise<void> {
    for (const b of this.builders.values()) await this.cut(b);
    this.builders.clear();
    while (this.uploads.size > 0) await Promise.race(this.uploads);
    this.throwIfFailed();
    await this.writeIndex();
  }

  /**
   * Waits for uploads without writing more packs (after a failure elsewhere). With `index`, the
   * packs already stored are indexed (index after packs, as always), so the next backup reuses
   * them instead of storing them again; the pack being filled is dropped.
   */
  async abandon(o: { index?: boolean } = {}): Promise<void> {
    while (this.uploads.size > 0) await Promise.race(this.uploads);
    if (o.index && !this.failure) await this.writeIndex();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
