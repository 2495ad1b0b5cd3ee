/**
 * The worker side of FilesTask (protocol in tasks.ts): files read in order, chunked and hashed;
 * the chunks the main thread wants are compressed and written into the shared pack buffer.
 * Files up to 64 KiB are opened and read in one call each, synchronously while the page cache
 * holds them; once the task has made the process read storage (a cold cache), its later small
 * files are opened and read ahead on the process's I/O pool (ReadAhead). A big file's next block
 * is read there while the current one is chunked; what is not read ahead is read synchronously
 * (this thread is the worker's own, or the main thread's for a small job). The worker does not
 * wait for the main thread's answer to a batch's ids before reading and hashing the next block:
 * up to MAX_PENDING batches await their WantMessage, and each is stored when it comes.
 */
import { close, closeSync, constants as fsc, fstatSync, open, openSync, read, readFileSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { FastCDC } from '../chunk/fastcdc.js';
import { defaultScanner } from '../chunk/scanner.js';
import { chunkIdOf, packBlob } from '../crypto/blob.js';
import type { Crypt } from '../crypto/crypt.js';
import { endTaskMemory, taskMemory, type TaskMemory } from './chunk-ring.js';
import { fsPath } from '../util/names.js';
import type { AckMessage, DataMessage, FileResult, FilesResult, FilesTask, IdsMessage, WantMessage } from './tasks.js';

const READ_BLOCK = 2 * 1024 * 1024;
/** A batch of chunks goes to the main thread once it holds this many bytes or chunks. */
const BATCH_BYTES = READ_BLOCK;
const BATCH_CHUNKS = 1024;
/** Read size once a file's expected size is reached (to see the end, or growth). */
const PROBE = 64 * 1024;
const MAX_PENDING = 3;
const MAX_UNACKED = 2;
/**
 * A task's chunk ring (chunk-ring.ts). Smaller than the chunks in flight (up to MAX_PENDING
 * batches of BATCH_BYTES and one more chunk each): the ring is resident for good, while what
 * overflows it is fresh memory that V8 frees later. Measured on a 2 GiB tree with two workers:
 * peak RSS 260 MiB with 4 MiB, 270-274 with 6, 282 with 8, 298-308 with 16, at equal CPU.
 */
const RING_BYTES = 4 * 1024 * 1024;
/** Files up to this size are opened and read ahead, up to READ_AHEAD files past the current one. */
const SMALL_FILE = 64 * 1024;
const READ_AHEAD = 16;
/**
 * Bytes this process has had read from storage so far (Linux: `read_bytes` of /proc/self/io, all
 * threads; a read the page cache serves adds none), or undefined where that cannot be told.
 */
function storageReadBytes(): number | undefined {
  try {
    const m = /^read_bytes:\s+(\d+)/m.exec(readFileSync('/proc/self/io', 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How small files are read. From the page cache, in this thread: two hops to the I/O pool and
 * back a file cost ~8 futex calls (a 12,000-file backup: 99,500 futex calls, 3,300 this way).
 * From storage (a cold cache), ahead on the pool, several at once, each a disk round trip. A
 * task reads in this thread until the process's storage reads since the task began reach half
 * the 4 KiB pages of the small files it read so far (a cold read fetches at least each file's
 * pages; writing packs reads a little file-system metadata); where `storageRead` cannot tell,
 * ahead from the start. Tests replace `storageRead` and read how many files went each way.
 */
export const smallReads = { storageRead: storageReadBytes, here: 0, ahead: 0 };
/** A task compares after every this many small files read in this thread. */
const PROBE_EVERY = 16;
const PAGE = 4096;
/** A link where the walk saw a file is not followed (ELOOP); the identity check covers the folders above. */
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW;

/** Concatenates 32-byte ids into one compact buffer (one clone per message, not one per id). */
function packIds(ids: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ids.length * 32);
  ids.forEach((id, i) => out.set(id, i * 32));
  return out;
}

interface Batch {
  chunks: Uint8Array[];
  ids: Uint8Array[];
  want?: boolean[];
  /** The ring's mark after this batch's chunks: released once the batch is stored. */
  mark: number;
}

/** The main thread stopped the task (it failed, or was told to stop): the result is ignored. */
class Stopped extends Error {}

class FilesJob {
  /** Batches sent, oldest first; the first `answered` have their WantMessage. */
  private readonly pending: Batch[] = [];
  private answered = 0;
  private unacked = 0;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  /** The pack buffer being filled; undefined while a full one is being cut. */
  private pack: Uint8Array | undefined;
  private used: number;
  private readonly probe = new Uint8Array(PROBE);
  private readonly ahead: ReadAhead;
  /** Chunks and read blocks in recycled memory, not fresh buffers V8 frees late. */
  private readonly mem: TaskMemory = taskMemory(RING_BYTES, READ_BLOCK);

  constructor(
    private readonly t: FilesTask,
    /** An encrypted repository's sealing: secret gear, keyed ids, sealed blobs. */
    private readonly crypt: Crypt | undefined,
  ) {
    this.ahead = new ReadAhead(t.paths, t.sizes);
    this.pack = t.pack && new Uint8Array(t.pack.buf);
    this.used = t.pack?.used ?? 0;
    t.port.on('message', (m: WantMessage | AckMessage) => {
      if (m.stop) this.failure ??= new Stopped('stopped by the main thread');
      if (m.t === 'want') this.pending[this.answered++].want = m.want;
      else {
        this.unacked--;
        if (m.pack) {
          this.pack = new Uint8Array(m.pack);
          this.used = 0;
        }
      }
      const w = this.wake;
      this.wake = undefined;
      w?.();
    });
  }

  async run(): Promise<FilesResult> {
    const out: FilesResult = { files: [] };
    let i = 0;
    try {
      for (; i < this.t.paths.length; i++) out.files.push(await this.readFile(i));
      this.send();
      await this.pump(() => this.pending.length === 0 && this.unacked === 0);
      return out;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // a failure after the last file was read (storing its chunks) is told against that file
      out.error = { index: Math.min(i, this.t.paths.length - 1), code: err.code, message: err.message };
      return out;
    } finally {
      this.t.port.close();
      await this.ahead.closeAll();
      endTaskMemory(this.mem);
    }
  }

  private async readFile(i: number): Promise<FileResult> {
    const expected = this.t.sizes[i] ?? 0;
    const sha = createHash('sha256');
    let cdc: FastCDC | undefined;
    let chunks = 0;
    let size = 0;
    const ahead = this.ahead.take(i);
    const now = ahead || expected > SMALL_FILE || this.ahead.on ? undefined : this.readSmall(i, expected);
    this.ahead.fill(i + 1);
    const opened = now ?? (ahead ? await ahead : { fd: openSync(fsPath(this.t.paths[i]), READ_FLAGS), head: undefined });
    // a big file's next block is read on the I/O pool while this one is hashed and chunked
    let next: Promise<Uint8Array | undefined> | undefined;
    try {
      this.assertWalked(opened.fd, i);
      for (let block = opened.head; ; block = undefined) {
        await this.pump(() => this.pending.length < MAX_PENDING);
        if (next) block = await next;
        else block ??= this.read(opened.fd, expected - size, size);
        next = undefined;
        if (!block || block.length === 0) break;
        size += block.length;
        if (expected - size > 0) next = readAsync(opened.fd, this.mem.block(Math.min(READ_BLOCK, expected - size)), size);
        sha.update(block);
        if (block === opened.head && opened.whole && block.length < this.t.chunker.min) {
          // a small file read whole is one chunk, as FastCDC cuts it (never before min), with no
          // chunker made and no copy of its bytes (issue #22: one of each a file of a small-file backup)
          this.add([block]);
          chunks++;
          break;
        }
        const cs = (cdc ??= new FastCDC(this.t.chunker, defaultScanner(this.crypt?.gear), this.mem.ring)).push(block);
        chunks += cs.length;
        this.add(cs);
        if (block === opened.head && opened.whole) break;
      }
      const last = cdc?.finish() ?? [];
      chunks += last.length;
      this.add(last);
    } finally {
      await next?.catch(() => undefined); // never close the file under a read in flight
      closeSync(opened.fd);
    }
    return { size, sha256: new Uint8Array(sha.digest()), chunks };
  }

  /**
   * The opened file is the one the walk saw (same device and inode): a folder on its path (or
   * the file) swapped for a link since the walk would make the path name a file outside the
   * tree. One fstat of an open file, on every OS, and every component of the path covered.
   */
  private assertWalked(fd: number, i: number): void {
    const id = this.t.identities;
    if (!id) return;
    const st = fstatSync(fd);
    if (st.dev !== id[2 * i] || st.ino !== id[2 * i + 1]) throw new Error('is another file than the walk saw (it, or a folder on its path, was replaced, e.g. by a link): not read');
  }

  /** A small file opened and read now, in this thread (the page cache held the task's files so far). */
  private readSmall(i: number, size: number): Opened {
    const opened = openAndReadSync(this.t.paths[i], size);
    this.ahead.readHere(size);
    return opened;
  }

  /** The block at `pos` (a recycled read block: the chunker copies what it keeps), or undefined at the end. */
  private read(fd: number, want: number, pos: number): Uint8Array | undefined {
    if (want > 0) {
      const buf = this.mem.block(Math.min(READ_BLOCK, want));
      const n = readSync(fd, buf, 0, buf.length, pos);
      return n === 0 ? undefined : buf.subarray(0, n);
    }
    // past the expected size: one reused probe buffer sees the end (or, rarely, growth)
    const n = readSync(fd, this.probe, 0, PROBE, pos);
    return n === 0 ? undefined : this.probe.slice(0, n);
  }

  private add(chunks: Uint8Array[]): void {
    for (const c of chunks) {
      this.batch.push(c);
      this.batchBytes += c.length;
    }
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_CHUNKS) this.send();
  }

  private send(): void {
    if (this.batch.length === 0) return;
    const ids = this.batch.map((c) => chunkIdOf(this.crypt, c));
    this.pending.push({ chunks: this.batch, ids, mark: this.mem.ring.mark() });
    const m: IdsMessage = { t: 'ids', ids: packIds(ids), sizes: this.batch.map((c) => c.length) };
    this.t.port.postMessage(m);
    this.batch = [];
    this.batchBytes = 0;
  }

  /** Stores answered batches, in order, until `ready()` holds. */
  private async pump(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.answered > 0) {
        const b = this.pending.shift()!;
        this.answered--;
        await this.store(b);
        this.mem.ring.release(b.mark); // its chunks are in the pack (or not wanted): their memory is free
        continue;
      }
      if (ready()) return;
      await this.sleep();
    }
  }

  private async waitFor(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure !== undefined) throw this.failure;
      await this.sleep();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private sleep(): Promise<void> {
    return new Promise<void>((r) => (this.wake = r));
  }

  /** Encodes the wanted chunks of a batch into the pack buffer; tells the main thread where. */
  private async store(b: Batch): Promise<void> {
    let m = emptyData();
    const ids: Uint8Array[] = [];
    const hashes: Uint8Array[] = [];
    const post = async (full: boolean) => {
      if (m.offsets.length === 0 && !full) return;
      await this.waitFor(() => this.unacked < MAX_UNACKED);
      m.ids = packIds(ids.splice(0));
      m.storedHashes = packIds(hashes.splice(0));
      m.full = full;
      this.unacked++;
      this.t.port.postMessage(m);
      m = emptyData();
    };
    const cut = async () => {
      this.pack = undefined; // until the ack brings the next buffer
      await post(true);
      await this.waitFor(() => this.pack !== undefined);
    };
    for (let i = 0; i < b.chunks.length; i++) {
      if (!b.want![i]) continue;
      const c = b.chunks[i];
      const target = this.t.pack;
      if (!target) throw new Error('chunks wanted but no pack buffer given');
      const blob = packBlob(this.crypt, b.ids[i], c, this.t.policy);
      const length = blob.length;
      await this.waitFor(() => this.pack !== undefined);
      // a pack never runs past cutAt, unless a single chunk does
      if (this.used > 0 && this.used + length > target.cutAt) await cut();
      const pack = this.pack!;
      if (this.used + length > pack.length) throw new Error(`chunk of ${length} bytes does not fit the pack buffer`);
      blob.writeInto(pack, this.used);
      m.offsets.push(this.used);
      m.lengths.push(length);
      m.codecs.push(blob.codec);
      m.rawLengths.push(c.length);
      ids.push(b.ids[i]);
      hashes.push(blob.storedHash);
      this.used += length;
    }
    if (this.used >= (this.t.pack?.cutAt ?? Infinity)) {
      this.pack = undefined;
      await post(true);
    } else await post(false);
  }
}

function emptyData(): DataMessage {
  return { t: 'data', ids: new Uint8Array(0), offsets: [], lengths: [], storedHashes: new Uint8Array(0), codecs: [], rawLengths: [], full: false };
}

interface Opened {
  fd: number;
  /** The file's first bytes, read ahead (empty for an empty file). */
  head?: Uint8Array;
  /** `head` is the whole file: the read asked for a byte more than the walk's size and got the size. */
  whole?: boolean;
}

/**
 * Small files opened and read on the process's I/O pool while earlier files are hashed: on a
 * cold cache each costs a disk round trip or two, and a worker reading one at a time would wait
 * on every one. What a file holds past its expected size is read as usual, after its turn.
 */
class ReadAhead {
  private readonly started = new Map<number, Promise<Opened>>();
  private next = 0;
  /** Off while the task's small files come from the page cache (smallReads); on from the start where that cannot be told. */
  on: boolean;
  private readonly base: number | undefined;
  private readHereCount = 0;
  /** 4 KiB pages of the small files read in this thread. */
  private pages = 0;

  constructor(
    private readonly paths: string[],
    private readonly sizes: number[],
  ) {
    this.base = smallReads.storageRead();
    this.on = this.base === undefined;
  }

  /** Counts a small file read in this thread; every PROBE_EVERY files, turns on if storage was read as a cold cache would (smallReads). */
  readHere(size: number): void {
    smallReads.here++;
    this.pages += Math.max(1, Math.ceil(size / PAGE));
    if (++this.readHereCount % PROBE_EVERY !== 0) return;
    const now = smallReads.storageRead();
    if (now === undefined || this.base === undefined || (now - this.base) * 2 >= this.pages * PAGE) this.on = true;
  }

  /** Starts reads of the small files among the READ_AHEAD after (and from) `from`. */
  fill(from: number): void {
    if (!this.on) return;
    this.next = Math.max(this.next, from);
    while (this.next < Math.min(this.paths.length, from + READ_AHEAD)) {
      const k = this.next++;
      if ((this.sizes[k] ?? 0) > SMALL_FILE) continue;
      const p = openAndRead(this.paths[k], this.sizes[k] ?? 0);
      smallReads.ahead++;
      p.catch(() => undefined); // observed at its turn (take), or closed by closeAll
      this.started.set(k, p);
    }
  }

  take(i: number): Promise<Opened> | undefined {
    const p = this.started.get(i);
    this.started.delete(i);
    return p;
  }

  /** Closes what was opened ahead and never taken (the task stopped early). */
  async closeAll(): Promise<void> {
    const left = [...this.started.values()];
    this.started.clear();
    for (const p of left) {
      const o = await p.catch(() => undefined);
      if (o) closeSync(o.fd);
    }
  }
}

function readAsync(fd: number, buf: Uint8Array, pos: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, pos, (e, n) => (e ? reject(e) : resolve(n === 0 ? undefined : buf.subarray(0, n))));
  });
}

/**
 * Opens a small file and reads it whole in one call: a byte more than the walk's size is asked
 * for, so a read that returns exactly that size has met the end, and no second read is needed
 * to see it (one read a file, not two). A file that grew or shrank is read on as usual.
 */
function openAndRead(path: string, size: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    open(fsPath(path), READ_FLAGS, (e, fd) => {
      if (e) return reject(e);
      const buf = new Uint8Array(size + 1);
      read(fd, buf, 0, size + 1, 0, (e2, n) => {
        if (e2) return close(fd, () => reject(e2));
        resolve({ fd, head: buf.subarray(0, n), whole: n === size });
      });
    });
  });
}

/** openAndRead in this thread: the same one read of a byte more than the walk's size. */
function openAndReadSync(path: string, size: number): Opened {
  const fd = openSync(fsPath(path), READ_FLAGS);
  try {
    const buf = new Uint8Array(size + 1);
    const n = readSync(fd, buf, 0, size + 1, 0);
    return { fd, head: buf.subarray(0, n), whole: n === size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function filesTask(t: FilesTask, crypt?: Crypt): Promise<FilesResult> {
  return new FilesJob(t, crypt).run();
}
