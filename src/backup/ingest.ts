/**
 * Ingestor: turns files into chunk lists in a repository. Each file is read, chunked, hashed and
 * (for chunks the repository lacks) compressed in the worker pool, which writes them into a
 * pack buffer the RepoWriter lends; the main thread answers "which of these ids are new" from
 * the index and stores full packs.
 */
import { checkAborted, withContext } from '../errors.js';
import { toHex } from '../hash/hex.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { Repository } from '../repo/repository.js';
import { RepoWriter } from '../repo/writer.js';
import type { WorkerPool } from '../workers/pool.js';

interface IngestedFile {
  size: number;
  sha256: Uint8Array;
  chunks: Uint8Array; // n × 32
}

export interface IngestProgress {
  bytesRead: number;
  filesDone: number;
  /**
   * Of bytesRead, the plain bytes of new chunks not yet in a stored pack: what is done is
   * bytesRead − bytesUnstored, so a slow upload (--limit_upload) is not shown as finished.
   */
  bytesUnstored?: number;
}

export interface IngestorOptions {
  /** Default: the repository's. */
  policy?: CompressionPolicy;
  /**
   * Told the progress as chunks are read and as packs are stored (the last packs upload after
   * the last byte is read), and on `report()`. It only reports: it never stops the ingest.
   */
  onProgress?: (p: IngestProgress) => void;
  /** Where the chunks go (a write session's writer, src/repo/session.ts); default: a writer of its own. */
  writer?: RepoWriter;
  /** Stops the ingest (Ctrl-C, a lost lock): the files being read fail with its reason, no other starts. */
  signal?: AbortSignal;
}

export class Ingestor {
  readonly writer: RepoWriter;
  readonly progress: IngestProgress = { bytesRead: 0, filesDone: 0 };
  /**
   * Told as each batch of chunks is read (inside a file: a big file is not one step) and as each
   * pack is stored; a caller that reads through this ingestor may set it after construction. It
   * only reports: the signal stops the ingest.
   */
  onProgress?: (p: IngestProgress) => void;
  private readonly policy: CompressionPolicy;
  private readonly signal?: AbortSignal;

  constructor(
    private readonly repo: Repository,
    private readonly pool: WorkerPool,
    o: IngestorOptions = {},
  ) {
    this.policy = o.policy ?? repo.config.compression;
    this.onProgress = o.onProgress;
    this.signal = o.signal;
    this.writer = o.writer ?? new RepoWriter(repo);
    this.writer.onStored = () => this.report();
  }

  /** The progress so far, with the bytes read but not yet stored (the one place they are counted: the writer's count). */
  counted(): IngestProgress {
    this.progress.bytesUnstored = this.writer.unstoredBytes;
    return this.progress;
  }

  /** Tells onProgress the progress so far. */
  report(): void {
    this.onProgress?.(this.counted());
  }

  /** Reads one file into the repository; returns its size, SHA-256 and chunk ids. */
  async ingest(absPath: string, expectedSize = 0): Promise<IngestedFile> {
    return (await this.ingestMany([absPath], [expectedSize]))[0];
  }

  /**
   * Reads files, in order, in one worker task (many small files cost one task). `stream` names
   * the caller's lane: each lane fills its own packs, so a file's chunks lie together in packs
   * (callers running at once on one stream get a pack buffer each). `identities` ([dev, ino] per
   * file, as walked): a file that is not the one walked is not read, and the call fails naming it.
   */
  async ingestMany(absPaths: string[], expectedSizes: number[], stream = 0, identities?: number[]): Promise<IngestedFile[]> {
    checkAborted(this.signal);
    const idBufs: Uint8Array[] = []; // the messages' ids (n × 32 each), in order
    const slot = this.writer.lease(stream);
    let r;
    try {
      r = await this.pool.chunkFiles(
        absPaths,
        expectedSizes,
        this.repo.config.chunker,
        this.policy,
        (m) => {
          checkAborted(this.signal); // the pool stops the worker and fails the task with the signal's reason
          idBufs.push(m.ids);
          const fresh = m.sizes.map((size, i) => this.writer.claim(toHex(m.ids.subarray(i * 32, i * 32 + 32)), size));
          for (const s of m.sizes) this.progress.bytesRead += s;
          this.report(); // after the claims: what they claimed is read, not stored
          return fresh;
        },
        async (m) => {
          checkAborted(this.signal); // likewise between the packs a file fills
          this.writer.record(slot, m);
          return m.full ? this.writer.cut(slot) : undefined;
        },
        { buf: slot.buf, used: slot.size, cutAt: this.writer.cutAt },
        identities,
        this.repo.crypt?.master,
      );
    } finally {
      this.writer.release(slot);
    }
    if (r.error) {
      const err = Object.assign(new Error(r.error.message), { code: r.error.code });
      throw withContext(`read ${absPaths[r.error.index]}`, err);
    }
    // the files' SHA-256s and chunk ids in one buffer, each file's as views of it: a buffer of its
    // own per SHA-256 or chunk list costs ~240 bytes more (issue #22: a million files)
    const head = r.files.length * 32; // the SHA-256s first, then the chunk ids as the messages gave them
    const out = new Uint8Array(idBufs.reduce((n, b) => n + b.length, head));
    let put = head;
    for (const b of idBufs) {
      out.set(b, put);
      put += b.length;
    }
    let k = 0;
    return r.files.map((f, i) => {
      out.set(f.sha256, i * 32);
      const at = head + k * 32;
      k += f.chunks;
      this.progress.filesDone++;
      return { size: f.size, sha256: out.subarray(i * 32, i * 32 + 32), chunks: out.subarray(at, at + f.chunks * 32) };
    });
  }

  /** Waits for every chunk to be stored and indexed. */
  async finish(): Promise<void> {
    await this.writer.flush();
  }

  async abandon(o: { index?: boolean } = {}): Promise<void> {
    await this.writer.abandon(o);
  }
}
