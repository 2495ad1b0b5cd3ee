/**
 * `sync --reencrypt` (spec/sync.md §8): copying backups to a repository of another master key, or
 * between a plain and an encrypted one, where no pack can be sent as it is (its blobs are sealed
 * with the source's key, named by the source's ids, and cut by the source's gear table). Each
 * file is read back chunk by chunk from the source (every chunk checked against its id, the
 * whole file against its SHA-256), cut again by the target's chunker (its own secret gear
 * table), named by the target's ids, compressed, sealed with the target's key and packed. The
 * target's manifest is the source's with the new chunk ids. Order of visibility as for sync:
 * packs, their index object, then the manifest, after the target lock's fencing check.
 * Resumable: chunks already indexed at the target are not stored again.
 */
import { createHash } from 'node:crypto';
import { MobrError, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { codecReady, encodeChunk } from '../chunk/codec.js';
import { FastCDC } from '../chunk/fastcdc.js';
import { defaultScanner } from '../chunk/scanner.js';
import { blobAad } from '../crypto/crypt.js';
import { equalBytes } from '../util/bytes.js';
import type { PackRecord } from './index-file.js';
import { packKey } from './keys.js';
import { chunkCount, chunkId, type FileEntry, type Manifest } from './manifest.js';
import { PackBuilder } from './pack.js';
import { withSharedLock, type LockOptions } from './lock.js';
import type { Repository } from './repository.js';
import { manifestsToCopy } from './sync-plan.js';
import type { SyncReport } from './sync.js';

export interface ReencryptProgress {
  /** Plain bytes of files read back from the source so far. */
  bytesRead: number;
  bytesTotal: number;
  manifestsDone: number;
  manifestsTotal: number;
}

interface ReencryptOptions {
  /** Backups to copy (default: all of the source's). */
  ids?: string[];
  onProgress?: (p: ReencryptProgress) => void;
  /** Aborting stops between chunks with INTERRUPTED; what is stored and indexed stays (resumable). */
  signal?: AbortSignal;
  lock?: LockOptions;
}

const INDEX_EVERY = 32;

/** Copies backups of src into dst, re-chunked and re-sealed with dst's keys (see the file comment). */
export async function reencryptRepository(src: Repository, dst: Repository, o: ReencryptOptions = {}): Promise<SyncReport> {
  await codecReady();
  return withSharedLock(src, () =>
    withSharedLock(dst, async (dstLock) => {
      await src.refreshIndex();
      await dst.refreshIndex();
      await dst.dropUnsoundPacks(); // chunks of packs gone at the target are stored again
      const { manifests, present } = await manifestsToCopy(src, dst, o.ids ?? (await src.listBackupIds()));
      const r: SyncReport = { copied: [], present, packsCopied: 0, packsBuilt: 0, packsSkipped: 0, chunksSent: 0, bytesSent: 0, indexObjects: 0 };
      const progress = { bytesRead: 0, bytesTotal: manifests.reduce((n, m) => n + m.logicalSize, 0), manifestsDone: 0, manifestsTotal: manifests.length };
      const report = () => o.onProgress?.(progress);
      const w = new Rechunker(src, dst, r, report, progress, o.signal);
      try {
        await copyManifests(manifests, { dst, w, r, progress, report, fence: () => dstLock.assertHeld() });
      } catch (e) {
        await w.indexStored(); // packs already stored are indexed: a rerun does not store them again
        throw e;
      }
      return r;
    }, { purpose: 'sync --reencrypt (target)', signal: o.signal, ...o.lock }),
  { purpose: 'sync --reencrypt (source)', signal: o.signal, ...o.lock });
}

/** What copyManifests works with. */
interface Run {
  dst: Repository;
  w: Rechunker;
  r: SyncReport;
  progress: ReencryptProgress;
  report: () => void;
  /** The target lock's fencing check. */
  fence: () => Promise<void>;
}

/** Each manifest in turn: its files re-chunked, its packs stored and indexed, then the manifest. */
async function copyManifests(manifests: Manifest[], { dst, w, r, progress, report, fence }: Run): Promise<void> {
  for (const m of manifests) {
    const files: FileEntry[] = [];
    for (const f of m.files) files.push(f.kind === 'file' ? { ...f, chunks: await w.file(f, m.id) } : f);
    const added = await w.flush();
    await fence();
    try {
      await dst.saveManifest({ ...m, files, addedBytes: added });
      r.copied.push(m.id);
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      r.present.push(m.id);
    }
    progress.manifestsDone++;
    report();
  }
}

/** Cuts plain bytes with the target's chunker and stores the chunks the target lacks in new packs. */
class Rechunker {
  private readonly builder: PackBuilder;
  private readonly claimed = new Set<string>();
  private pending: PackRecord[] = [];
  /** Stored bytes of the chunks new since the last flush (the manifest's addedBytes). */
  private added = 0;

  constructor(
    private readonly src: Repository,
    private readonly dst: Repository,
    private readonly r: SyncReport,
    private readonly report: () => void,
    private readonly progress: ReencryptProgress,
    private readonly signal?: AbortSignal,
  ) {
    this.builder = new PackBuilder(dst.config.packSize + dst.config.chunker.max, dst.crypt);
  }

  /** A file's chunk ids at the target (n × 32), its bytes read back from the source and checked. */
  async file(f: FileEntry, backup: string): Promise<Uint8Array> {
    const cdc = new FastCDC(this.dst.config.chunker, defaultScanner(this.dst.crypt?.gear));
    const sha = createHash('sha256');
    const ids: Uint8Array[] = [];
    for (let i = 0; i < chunkCount(f); i++) {
      if (this.signal?.aborted) throw new MobrError('INTERRUPTED', `sync to ${this.dst.store.location} interrupted; run it again to resume`);
      const plain = await this.src.readChunk(chunkId(f, i));
      sha.update(plain);
      this.progress.bytesRead += plain.length;
      for (const c of cdc.push(plain)) ids.push(await this.store(c));
      this.report();
    }
    for (const c of cdc.finish()) ids.push(await this.store(c));
    if (!f.sha256 || !equalBytes(sha.digest(), f.sha256)) {
      throw new MobrError('CORRUPT_MANIFEST', `backup ${backup}: ${f.path} read back from the source does not match its SHA-256; not copied`);
    }
    const out = new Uint8Array(ids.length * 32);
    ids.forEach((id, k) => out.set(id, k * 32));
    return out;
  }

  /** One target chunk: its id, and it is packed when the target lacks it. */
  private async store(plain: Uint8Array): Promise<Uint8Array> {
    const id = this.dst.chunkId(plain);
    const hex = toHex(id);
    if (this.claimed.has(hex) || this.dst.index.has(hex)) return id;
    this.claimed.add(hex);
    const { stored, codec } = encodeChunk(plain, this.dst.config.compression);
    const blob = this.dst.crypt ? this.dst.crypt.seal(blobAad(id), stored) : stored;
    this.builder.add(id, blob, plain.length, codec);
    this.added += blob.length;
    if (this.builder.length >= this.dst.config.packSize) await this.cut();
    return id;
  }

  private async cut(): Promise<void> {
    if (this.builder.count === 0) return;
    const built = this.builder.build();
    await this.dst.store.put(packKey(built.id), built.bytes, { signal: this.signal });
    this.r.packsBuilt++;
    this.r.chunksSent += built.blobs.length;
    this.r.bytesSent += built.bytes.length;
    this.pending.push({ id: built.id, blobs: built.blobs });
    if (this.pending.length >= INDEX_EVERY) await this.writeIndex();
  }

  private async writeIndex(signal: AbortSignal | null = this.signal ?? null): Promise<void> {
    if (this.pending.length === 0) return;
    const packs = this.pending;
    this.pending = [];
    await this.dst.writeIndex(packs, { signal: signal ?? undefined });
    this.r.indexObjects++;
  }

  /**
   * After a failure: indexes the packs already stored (not the one being filled), if the store
   * still takes writes; one small object, written also after Ctrl-C (as a backup does).
   */
  async indexStored(): Promise<void> {
    if (this.pending.length === 0) return;
    try {
      await this.writeIndex(null);
    } catch {
      // the store or the lock failed: those packs are orphans, freed by gc after its safety window
    }
  }

  /** Stores the last pack and indexes every stored one (before a manifest names them); the stored bytes added since the last flush. */
  async flush(): Promise<number> {
    await this.cut();
    await this.writeIndex();
    const added = this.added;
    this.added = 0;
    return added;
  }
}
