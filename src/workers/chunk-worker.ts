/**
 * The pool's worker: chunking + hashing + compression of whole files, and decode + verify.
 * Buffers travel by transfer, never by copy (each chunk owns its ArrayBuffer).
 */
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { blake3, blake3Backend, blake3Ready } from '../hash/blake3.js';
import { FastCDC } from '../chunk/fastcdc.js';
import { codecReady, decodeChunk, encodeChunk } from '../chunk/codec.js';
import { transferList, moved } from './transfer.js';
import { fsPath } from '../util/names.js';
import type { DataMessage, DecodeResult, DecodeTask, FileResult, FileTask, IdsMessage, Task, WantMessage } from './tasks.js';

const READ_BLOCK = 2 * 1024 * 1024;
const MAX_UNACKED = 2;
const MAX_PENDING = 2;


/**
 * One file: read, chunk, hash, and answer the protocol of tasks.ts. The worker does not wait for
 * the main thread's answer to a batch's ids before reading and hashing the next block: up to
 * MAX_PENDING batches await their WantMessage, and each is encoded and sent when it comes. Before,
 * every 4 MiB block waited for that round trip, which on 2 busy cores left the worker idle ~20%.
 */
async function fileTask(t: FileTask): Promise<FileResult> {
  await Promise.all([codecReady(), blake3Ready()]);
  const sha = createHash('sha256');
  const cdc = new FastCDC(t.chunker);
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
      const data: DataMessage = { t: 'data', ids: [], stored: [], storedHashes: [], codecs: [], rawLengths: [] };
      b.chunks.forEach((c, i) => {
        if (!m.want[i]) return;
        const e = encodeChunk(c, t.policy);
        data.ids.push(b.ids[i]);
        data.stored.push(e.stored);
        data.storedHashes.push(e.stored === c ? b.ids[i] : blake3(e.stored));
        data.codecs.push(e.codec);
        data.rawLengths.push(c.length);
      });
      if (data.ids.length > 0) {
        unacked++;
        t.port.postMessage(data, transferList(data.stored));
      }
    } catch (e) {
      failure ??= e;
    }
    notify();
  });
  const send = (chunks: Uint8Array[]) => {
    if (chunks.length === 0) return;
    const ids = chunks.map((c) => blake3(c));
    pending.push({ chunks, ids });
    const m: IdsMessage = { t: 'ids', ids, sizes: chunks.map((c) => c.length) };
    t.port.postMessage(m);
  };
  let size = 0;
  let fh;
  try {
    fh = await open(fsPath(t.path), 'r');
    for (;;) {
      await until(() => pending.length < MAX_PENDING && unacked < MAX_UNACKED);
      const buf = new Uint8Array(READ_BLOCK);
      const { bytesRead } = await fh.read(buf, 0, READ_BLOCK, null);
      if (bytesRead === 0) break;
      const block = buf.subarray(0, bytesRead);
      size += bytesRead;
      sha.update(block);
      send(cdc.push(block));
    }
    send(cdc.finish());
    await until(() => pending.length === 0 && unacked === 0);
    return { size, sha256: new Uint8Array(sha.digest()) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { size, sha256: new Uint8Array(32), error: { code: err.code, message: err.message } };
  } finally {
    await fh?.close();
    t.port.close();
  }
}

async function decodeTask(t: DecodeTask): Promise<unknown> {
  await Promise.all([codecReady(), blake3Ready()]);
  const plain: (Uint8Array | null)[] = [];
  const problems: (string | null)[] = [];
  t.stored.forEach((s, i) => {
    try {
      const p = decodeChunk(s, t.codecs[i], t.rawLengths[i]);
      const id = blake3(p);
      if (Buffer.compare(Buffer.from(id), Buffer.from(t.ids[i])) !== 0) throw new Error('hash mismatch');
      plain.push(p);
      problems.push(null);
    } catch (e) {
      plain.push(null);
      problems.push((e as Error).message);
    }
  });
  const r: DecodeResult = { plain, problems };
  return moved(r, plain.filter((p): p is Uint8Array => p !== null));
}

export default async function run(t: Task): Promise<unknown> {
  switch (t.kind) {
    case 'file':
      return fileTask(t);
    case 'decode':
      return decodeTask(t);
    case 'backend':
      await blake3Ready();
      return blake3Backend();
  }
}
