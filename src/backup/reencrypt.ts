/**
 * `sync --reencrypt` (spec/sync.md §8): copying backups to a repository of another master key, or
 * between a plain and an encrypted one, where no pack can be sent as it is (its blobs are sealed
 * with the source's key, named by the source's ids, and cut by the source's gear table). Each
 * file is read back from the source as `dump` reads it (`verifiedFileBytes`: every chunk checked
 * against its id in the worker pool, the whole file against its SHA-256), cut again by the
 * target's chunker (its own secret gear table), named by the target's ids, compressed and sealed
 * with the target's key into the packs of a `RepoWriter`, in a write session on the target (its
 * lock, fencing, and what an interrupted run stored indexed, as for a backup). The target's
 * manifest is the source's with the new chunk ids, committed once each of its chunks is indexed.
 * Resumable: chunks already indexed at the target are not stored again.
 */
import { isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { codecReady } from '../chunk/codec.js';
import { FastCDC } from '../chunk/fastcdc.js';
import { defaultScanner } from '../chunk/scanner.js';
import { packBlob } from '../crypto/blob.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { LockOptions } from '../repo/lock.js';
import type { Repository } from '../repo/repository.js';
import { sharedSession, writeSession, type WriteSession } from '../repo/session.js';
import { manifestsToCopy } from '../repo/sync-plan.js';
import type { SyncReport } from '../repo/sync.js';
import type { RepoWriter } from '../repo/writer.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { verifiedFileBytes } from './dump.js';

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
  /** Aborting stops between chunks with INTERRUPTED; what is stored is indexed (resumable). */
  signal?: AbortSignal;
  lock?: LockOptions;
  /** Decodes and checks the source's chunks (default: jobPool's choice for the bytes to copy). */
  pool?: WorkerPool;
}

/** Copies backups of src into dst, re-chunked and re-sealed with dst's keys (see the file comment). */
export async function reencryptRepository(src: Repository, dst: Repository, o: ReencryptOptions = {}): Promise<SyncReport> {
  await codecReady();
  return sharedSession(src, { purpose: 'sync --reencrypt (source)', signal: o.signal, lock: o.lock }, () =>
    writeSession(dst, { purpose: 'sync --reencrypt (target)', signal: o.signal, lock: o.lock }, async (s) => {
      await src.refreshIndex();
      const { manifests, present } = await manifestsToCopy(src, dst, o.ids ?? (await src.listBackupIds()));
      const r: SyncReport = { copied: [], present, packsCopied: 0, packsBuilt: 0, packsSkipped: 0, chunksSent: 0, bytesSent: 0, indexObjects: 0 };
      const progress = { bytesRead: 0, bytesTotal: manifests.reduce((n, m) => n + m.logicalSize, 0), manifestsDone: 0, manifestsTotal: manifests.length };
      // as a restore of those bytes: small (or a busy machine), this thread; else workers decode
      const pool = o.pool ?? (await jobPool(progress.bytesTotal));
      try {
        await copyManifests(manifests, r, new Rechunker(src, s, pool, () => o.onProgress?.(progress), progress));
      } finally {
        if (!o.pool) await pool.close();
      }
      return r;
    }),
  );
}

/** Each manifest in turn: its files re-chunked, its packs stored and indexed, then the manifest. */
async function copyManifests(manifests: Manifest[], r: SyncReport, w: Rechunker): Promise<void> {
  for (const m of manifests) {
    const files: FileEntry[] = [];
    for (const f of m.files) files.push(f.kind === 'file' ? { ...f, chunks: await w.file(f) } : f);
    const added = await w.flush(r);
    try {
      await w.session.commit({ ...m, files, addedBytes: added });
      r.copied.push(m.id);
    } catch (e) {
      if (!isMobrError(e, 'REPO_EXISTS')) throw e;
      r.present.push(m.id);
    }
    w.progress.manifestsDone++;
    w.report();
  }
}

/** Cuts plain bytes with the target's chunker and fills the session writer's packs with the chunks the target lacks. */
class Rechunker {
  private readonly dst: Repository;
  private readonly writer: RepoWriter;
  /** The writer's counts at the last flush. */
  private last = { storedBytes: 0, packs: 0, newChunks: 0, indexes: 0 };

  constructor(
    private readonly src: Repository,
    readonly session: WriteSession,
    private readonly pool: WorkerPool,
    readonly report: () => void,
    readonly progress: ReencryptProgress,
  ) {
    this.dst = session.repo;
    this.writer = session.writer();
  }

  /** A file's chunk ids at the target (n × 32), its bytes read back from the source and checked. */
  async file(f: FileEntry): Promise<Uint8Array> {
    const cdc = new FastCDC(this.dst.config.chunker, defaultScanner(this.dst.crypt?.gear));
    const ids: Uint8Array[] = [];
    for await (const plain of verifiedFileBytes(this.src, this.pool, f)) {
      this.session.check(); // Ctrl-C or a lost lock: INTERRUPTED / LOCKED
      this.progress.bytesRead += plain.length;
      for (const c of cdc.push(plain)) ids.push(await this.store(c));
      this.report();
    }
    for (const c of cdc.finish()) ids.push(await this.store(c));
    const out = new Uint8Array(ids.length * 32);
    ids.forEach((id, k) => out.set(id, k * 32));
    return out;
  }

  /** One target chunk: its id; encoded and sealed into a pack when the target lacks it (packBlob, as the files task does). */
  private async store(plain: Uint8Array): Promise<Uint8Array> {
    const id = this.dst.chunkId(plain);
    if (!this.writer.claim(toHex(id), plain.length)) return id;
    const blob = packBlob(this.dst.crypt, id, plain, this.dst.config.compression);
    const slot = this.writer.lease();
    try {
      // a pack never runs past cutAt, unless a single chunk does
      if (slot.size > 0 && slot.size + blob.length > this.writer.cutAt) await this.writer.cut(slot);
      blob.writeInto(new Uint8Array(slot.buf), slot.size);
      const where = { offsets: [slot.size], lengths: [blob.length], rawLengths: [plain.length] };
      this.writer.record(slot, { ids: id, storedHashes: blob.storedHash, codecs: [blob.codec], ...where });
    } finally {
      this.writer.release(slot);
    }
    return id;
  }

  /** Stores the last pack and indexes every stored one (before a manifest names them); the stored bytes added since the last flush. */
  async flush(r: SyncReport): Promise<number> {
    await this.writer.flush();
    const now = this.writer.stats;
    r.packsBuilt += now.packs - this.last.packs;
    r.chunksSent += now.newChunks - this.last.newChunks;
    r.indexObjects += now.indexes - this.last.indexes;
    const added = now.storedBytes - this.last.storedBytes;
    r.bytesSent += added; // the blobs' bytes (the packs' headers not counted)
    this.last = { ...now };
    return added;
  }
}
