/**
 * The worker pool (piscina): chunking + hashing + compression, decode + verify run off the main
 * thread; the main thread does I/O, index look-ups and pack assembly.
 * One pool per process, sized by `parallelism` (default: the machine's cores).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { Blake3Backend } from '../hash/blake3.js';
import type { MasterKey } from '../crypto/master.js';
import { transferList } from './transfer.js';
import type { AckMessage, DataMessage, DecodeResult, DecodeTask, FilesResult, FilesTask, FinishFilesTask, IdsMessage, PackCheckResult, PackCheckTask, PackTarget, PackWritesTask, FileProblem, WantMessage } from './tasks.js';

/**
 * Worker file: the one next to this module. Run from source (tests, `node --import tsx`), that is
 * src/workers/chunk-worker.ts, loaded through tsx's loader in the worker too, so a test exercises
 * the source it tests, never a stale dist/.
 */
const HERE = fileURLToPath(import.meta.url);
const FROM_SOURCE = HERE.endsWith('.ts');
const workerFile = (): string => HERE.replace(/pool\.(ts|js)$/, 'chunk-worker.$1');

/**
 * piscina loads the worker with `require()` first. On Node versions where require() of an ES
 * module is on, two handlers of our ES-module worker loaded at once in one thread can abort the
 * whole process (V8 fatal "IsGraphAsync must be used on an instantiated module", seen in CI);
 * with it off, piscina falls back to `import()`, which is safe.
 */
const WORKER_EXEC_ARGV = [
  ...process.execArgv,
  ...(FROM_SOURCE && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : []),
  ...(process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : []),
];

export class WorkerPool {
  private readonly pool: Piscina;
  readonly threads: number;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, Math.min(threads, 64));
    this.pool = new Piscina({ filename: workerFile(), minThreads: this.threads, maxThreads: this.threads, idleTimeout: 60_000, execArgv: WORKER_EXEC_ARGV });
  }

  /**
   * Chunks, hashes and compresses files, in order, in one worker task (protocol in tasks.ts):
   * many small files share a task and its messages. `onIds` decides per chunk id, in order,
   * whether the repository needs it; the worker writes the wanted chunks into `pack` and
   * `onData` is told where (awaited in order); after a `full` message it returns the next
   * buffer. After a failure in either, the worker is told to stop.
   */
  async chunkFiles(
    paths: string[],
    sizes: number[],
    chunker: ChunkerParams,
    policy: CompressionPolicy,
    onIds: (m: IdsMessage) => boolean[],
    onData: (m: DataMessage) => Promise<SharedArrayBuffer | undefined>,
    pack?: PackTarget,
    identities?: number[],
    keys?: MasterKey,
  ): Promise<FilesResult> {
    const { port1, port2 } = new MessageChannel();
    let chain: Promise<void> = Promise.resolve();
    let failed: unknown;
    port1.on('message', (m: IdsMessage | DataMessage) => {
      if (m.t === 'ids') {
        let want: boolean[];
        try {
          want = failed === undefined ? onIds(m) : m.sizes.map(() => false);
        } catch (e) {
          failed ??= e;
          want = m.sizes.map(() => false);
        }
        const answer: WantMessage = { t: 'want', want, stop: failed !== undefined };
        port1.postMessage(answer);
        return;
      }
      chain = chain.then(async () => {
        let next: SharedArrayBuffer | undefined;
        if (failed === undefined) {
          try {
            next = await onData(m);
          } catch (e) {
            failed = e;
          }
        }
        const ack: AckMessage = { t: 'ack', pack: next, stop: failed !== undefined };
        port1.postMessage(ack);
      });
    });
    try {
      const task: FilesTask = { kind: 'files', paths, sizes, identities, chunker, policy, keys, port: port2, pack };
      const result: FilesResult = await this.pool.run(task, { transferList: [port2] as never });
      await chain;
      if (failed !== undefined) throw failed;
      return result;
    } finally {
      port1.close();
    }
  }

  /**
   * Decodes stored chunks lying in `data` and checks each against its id (`ids`: n × 32).
   * `data` must be the caller's own whole buffer: it is transferred, so it is detached here.
   */
  decodeOwned(
    data: Uint8Array,
    items: { offset: number; length: number; codec: number; rawLength: number }[],
    ids: Uint8Array,
    keys?: MasterKey,
  ): Promise<DecodeResult> {
    const task: DecodeTask = {
      kind: 'decode',
      keys,
      data,
      offsets: items.map((x) => x.offset),
      lengths: items.map((x) => x.length),
      codecs: items.map((x) => x.codec),
      rawLengths: items.map((x) => x.rawLength),
      ids,
    };
    return this.pool.run(task, { transferList: transferList([data], 0) as never });
  }

  /** Restore by pack: decodes, checks and writes one read's chunks (`data` is transferred). */
  packWrites(task: Omit<PackWritesTask, 'kind'>): Promise<FileProblem[]> {
    return this.pool.run({ kind: 'packWrites', ...task }, { transferList: transferList([task.data, task.ids, task.sha256s], 0) as never });
  }

  /** Restore by pack: checks files written in parts and renames them into place. */
  finishFiles(task: Omit<FinishFilesTask, 'kind'>): Promise<FileProblem[]> {
    return this.pool.run({ kind: 'finishFiles', ...task });
  }

  /** Check by pack: a pack's (or a slice's) chunks checked, whole files checked, the others' chunks returned. */
  packCheck(task: Omit<PackCheckTask, 'kind'>): Promise<PackCheckResult> {
    return this.pool.run({ kind: 'packCheck', ...task }, { transferList: transferList([task.data, task.ids, task.sha256s], 0) as never });
  }

  /** The same for separate buffers (copied once into one buffer; the caller keeps its own). */
  decode(stored: Uint8Array[], codecs: number[], rawLengths: number[], ids: Uint8Array[], keys?: MasterKey): Promise<DecodeResult> {
    const data = new Uint8Array(stored.reduce((s, x) => s + x.length, 0));
    const items: { offset: number; length: number; codec: number; rawLength: number }[] = [];
    let o = 0;
    stored.forEach((x, i) => {
      data.set(x, o);
      items.push({ offset: o, length: x.length, codec: codecs[i], rawLength: rawLengths[i] });
      o += x.length;
    });
    const packed = new Uint8Array(ids.length * 32);
    ids.forEach((id, i) => packed.set(id, i * 32));
    return this.decodeOwned(data, items, packed, keys);
  }

  /** The BLAKE3 implementation one of the workers hashes with. */
  blake3Backend(): Promise<Blake3Backend> {
    return this.pool.run({ kind: 'backend' });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
