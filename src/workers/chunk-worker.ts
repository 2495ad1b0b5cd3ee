/**
 * The pool's worker: chunking + hashing + compression of files (files-task.ts), and decode +
 * verify. Buffers travel by transfer or shared memory, never by copy.
 */
import { blake3Backend, blake3Ready } from '../hash/blake3.js';
import { codecReady, decoderReady } from '../chunk/codec.js';
import { openChunk } from '../crypto/blob.js';
import { cryptFor, type Crypt } from '../crypto/crypt.js';
import type { MasterKey } from '../crypto/master.js';
import { moved } from './transfer.js';
import { encodersFor, finishFiles, packWrites } from './pack-writes.js';
import { packCheck } from './pack-check.js';
import { filesTask } from './files-task.js';
import { defaultScanner } from '../chunk/scanner.js';
import type { DecodeResult, DecodeTask, FilesTask, Task } from './tasks.js';

/** The task's repository sealing (an encrypted repository's, made once per key in this thread), or undefined. */
const cryptOf = (keys: MasterKey | undefined): Promise<Crypt | undefined> => (keys ? cryptFor(keys) : Promise.resolve(undefined));

async function decodeTask(t: DecodeTask): Promise<unknown> {
  await Promise.all([decoderReady(t.codecs), blake3Ready()]);
  const crypt = await cryptOf(t.keys);
  const plain: (Uint8Array | null)[] = [];
  const problems: (string | null)[] = [];
  for (let i = 0; i < t.offsets.length; i++) {
    try {
      const p = openChunk(crypt, t.ids.subarray(i * 32, i * 32 + 32), t.data.subarray(t.offsets[i], t.offsets[i] + t.lengths[i]), t.codecs[i], t.rawLengths[i]);
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

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Readies this thread for files tasks one step a turn of the event loop (the compressor, the
 * hasher, the scanner's WASM build and self-check: ~50-90 ms of CPU in all): an inline pool runs
 * them on the main thread (WorkerPool.here, before its first files task), where a lock's heartbeat must get its turns (a starved process runs
 * this 20-30 times slower; spec/gc.md §2.1).
 */
export async function readyByTurns(t: FilesTask): Promise<void> {
  await nextTurn();
  if (t.policy !== 'none') await codecReady();
  await nextTurn();
  await blake3Ready();
  await nextTurn();
  if (!t.keys) defaultScanner(); // an encrypted repository's scanner is keyed: made on first use
  await nextTurn();
}

export default async function run(t: Task): Promise<unknown> {
  switch (t.kind) {
    case 'files':
      await Promise.all([t.policy === 'none' ? undefined : codecReady(), blake3Ready()]);
      return filesTask(t, await cryptOf(t.keys));
    case 'decode':
      return decodeTask(t);
    case 'packWrites':
      await Promise.all([decoderReady(t.codecs), blake3Ready()]);
      return packWrites(t, await cryptOf(t.keys), await encodersFor(t));
    case 'finishFiles':
      return finishFiles(t);
    case 'packCheck':
      await Promise.all([decoderReady(t.codecs), blake3Ready()]);
      return packCheck(t, await cryptOf(t.keys));
    case 'backend':
      await blake3Ready();
      return blake3Backend();
  }
}
