/**
 * The pool's worker: chunking + hashing + compression of files, and decode + verify.
 * Buffers travel by transfer, never by copy (each chunk owns its ArrayBuffer).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { blake3, blake3Backend, blake3Ready } from '../hash/blake3.js';
import { FastCDC } from '../chunk/fastcdc.js';
import { codecReady, decodeChunk, encodeChunk } from '../chunk/codec.js';
import { transferList, moved } from './transfer.js';
import { fsPath } from '../util/names.js';
import { smallFiles } from './small-files.js';
import type { DataMessage, DecodeResult, DecodeTask, FilesResult, FilesTask, IdsMessage, Task, WantMessage } from './tasks.js';

const READ_BLOCK = 2 * 1024 * 1024;
/** A batch of chunks goes to the main thread once it holds this many bytes or chunks. */
const BATCH_BYTES = READ_BLOCK;
const BATCH_CHUNKS = 1024;
/** Read size once a file's expected size is reached (to see the end, or growth). */
const PROBE = 64 * 1024;
const MAX_UNACKED = 2;
const MAX_PENDING = 2;

/** Concatenates 32-byte ids into one compact buffer (one clone per message, not one per id). */
function packIds(ids: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ids.length * 32);
  ids.forEach((id, i) => out.set(id, i * 32));
  return out;
}

/**
 * Files, in order: read, chunk, hash, and answer the protocol of tasks.ts. Reads are synchronous
 * (this thread is the worker's own): a thousand small files do not queue three round trips each
 * on the process's 4-thread I/O pool. The worker does not
 * wait for the main thread's answer to a batch's ids before reading and hashing the next block:
 * up to MAX_PENDING batches await their WantMessage, and each is encoded and sent when it comes.
 */
async function filesTask(t: FilesTask): Promise<FilesResult> {
  await Promise.all([codecReady(), blake3Ready()]);
  const pending: { chunks: Uint8Array[]; ids: Uint8Array[] }[] = [];
  let unacked = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const until = async (ready: () => boolean) => {
    while (!ready() && failure === undefined) await new Promise<void>((r) => (wake = r));
    if (failure !== undefined) throw failure;
  };
  t.port.on('message', (m: WantMessage | 'ack') => {
    if (m === 'ack') {
      unacked--;
      notify();
      return;
    }
    const b = pending.shift()!;
    try {
      const ids: Uint8Array[] = [];
      const hashes: Uint8Array[] = [];
      const data: DataMessage = { t: 'data', ids: new Uint8Array(0), stored: [], storedHashes: new Uint8Array(0), codecs: [], rawLengths: [] };
      b.chunks.forEach((c, i) => {
        if (!m.want[i]) return;
        const e = encodeChunk(c, t.policy);
        ids.push(b.ids[i]);
        data.stored.push(e.stored);
        hashes.push(e.stored === c ? b.ids[i] : blake3(e.stored));
        data.codecs.push(e.codec);
        data.rawLengths.push(c.length);
      });
      if (ids.length > 0) {
        data.ids = packIds(ids);
        data.storedHashes = packIds(hashes);
        unacked++;
        t.port.postMessage(data, transferList(data.stored));
      }
    } catch (e) {
      failure ??= e;
    }
    notify();
  });
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const send = () => {
    if (batch.length === 0) return;
    const ids = batch.map((c) => blake3(c));
    pending.push({ chunks: batch, ids });
    const m: IdsMessage = { t: 'ids', ids: packIds(ids), sizes: batch.map((c) => c.length) };
    t.port.postMessage(m);
    batch = [];
    batchBytes = 0;
  };
  const add = (chunks: Uint8Array[]) => {
    for (const c of chunks) {
      batch.push(c);
      batchBytes += c.length;
    }
    if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_CHUNKS) send();
  };
  const out: FilesResult = { files: [] };
  let i = 0;
  try {
    for (; i < t.paths.length; i++) {
      const sha = createHash('sha256');
      const cdc = new FastCDC(t.chunker);
      let chunks = 0;
      let size = 0;
      let fd: number | undefined;
      try {
        fd = openSync(fsPath(t.paths[i]), 'r');
        for (;;) {
          await until(() => pending.length < MAX_PENDING && unacked < MAX_UNACKED);
          const want = Math.max(0, (t.sizes[i] ?? 0) - size);
          const buf = new Uint8Array(want > 0 ? Math.min(READ_BLOCK, want) : PROBE);
          const bytesRead = readSync(fd, buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          const block = buf.subarray(0, bytesRead);
          size += bytesRead;
          sha.update(block);
          const cs = cdc.push(block);
          chunks += cs.length;
          add(cs);
        }
        const last = cdc.finish();
        chunks += last.length;
        add(last);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      out.files.push({ size, sha256: new Uint8Array(sha.digest()), chunks });
    }
    send();
    await until(() => pending.length === 0 && unacked === 0);
    return out;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    out.error = { index: i, code: err.code, message: err.message };
    return out;
  } finally {
    t.port.close();
  }
}

async function decodeTask(t: DecodeTask): Promise<unknown> {
  await Promise.all([codecReady(), blake3Ready()]);
  const plain: (Uint8Array | null)[] = [];
  const problems: (string | null)[] = [];
  const ids = Buffer.from(t.ids.buffer, t.ids.byteOffset, t.ids.byteLength);
  for (let i = 0; i < t.offsets.length; i++) {
    try {
      const p = decodeChunk(t.data.subarray(t.offsets[i], t.offsets[i] + t.lengths[i]), t.codecs[i], t.rawLengths[i]);
      const id = blake3(p);
      if (ids.compare(id, 0, 32, i * 32, i * 32 + 32) !== 0) throw new Error('hash mismatch');
      plain.push(p);
      problems.push(null);
    } catch (e) {
      plain.push(null);
      problems.push((e as Error).message);
    }
  }
  const r: DecodeResult = { plain, problems };
  // Every buffer here is the task's own (received or decoded): hand all of them over, small or not.
  return moved(r, plain.filter((p): p is Uint8Array => p !== null), 0);
}

export default async function run(t: Task): Promise<unknown> {
  switch (t.kind) {
    case 'files':
      return filesTask(t);
    case 'decode':
      return decodeTask(t);
    case 'small':
      await Promise.all([codecReady(), blake3Ready()]);
      return smallFiles(t);
    case 'backend':
      await blake3Ready();
      return blake3Backend();
  }
}
