/**
 * The worker pool (piscina): chunking + hashing + compression, decode + verify run off the main
 * thread; the main thread does I/O, index look-ups and pack assembly. A pool is made per job,
 * sized by `parallelism` (default: the machine's cores); its workers start on its first task. A
 * pool made `inline` (jobPool: a small job, or a machine with little to spare) runs the same
 * tasks in the calling thread instead, one at a time, and starts no worker.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { Blake3Backend } from '../hash/blake3.js';
import type { MasterKey } from '../crypto/master.js';
import { spareCores } from './spare.js';
import { transferList, unwrapMoved } from './transfer.js';
import type { Task, AckMessage, DataMessage, DecodeResult, DecodeTask, FilesResult, FilesTask, FinishFilesTask, IdsMessage, PackCheckResult, PackCheckTask, PackTarget, PackWritesTask, FileProblem, WantMessage } from './tasks.js';

/** Set by the bundled CLI's build (deploy/cli-bundle.mjs): its chunk-worker.js is beside every chunk. */
declare const __MOBR_CLI_BUNDLE__: boolean | undefined;

/**
 * Worker file: the one next to this module. Run from source (tests, `node --import tsx`), that is
 * src/workers/chunk-worker.ts, loaded through tsx's loader in the worker too, so a test exercises
 * the source it tests, never a stale dist/. In the bundled CLI (dist/cli/) this module is part
 * of a chunk and the worker is dist/cli/chunk-worker.js beside it; the single file
 * (deploy/single-file.mjs) is its own worker.
 */
const HERE = fileURLToPath(import.meta.url);
const FROM_SOURCE = HERE.endsWith('.ts');
const workerFile = (): string =>
  typeof __MOBR_CLI_BUNDLE__ === 'boolean' ? path.join(path.dirname(HERE), 'chunk-worker.js') : HERE.replace(/pool\.(ts|js)$/, 'chunk-worker.$1');

/**
 * piscina loads the worker with `require()` first. On Node versions where require() of an ES
 * module is on, two handlers of our ES-module worker loaded at once in one thread can abort the
 * whole process (V8 fatal "IsGraphAsync must be used on an instantiated module", seen in CI);
 * with it off, piscina falls back to `import()`, which is safe.
 */
const WORKER_EXEC_ARGV = [
  ...process.execArgv,
  // tsx by its path: a bare `tsx` is looked up from the working directory, which a test may have moved
  ...(FROM_SOURCE && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : []),
  ...(process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : []),
];

/** Plain bytes a backup, restore or check does in this thread, without starting a worker (jobPool). */
export const INLINE_BYTES = 64 * 1024 * 1024;

/**
 * The pool for a backup, restore or check of `bytes` plain bytes (read or written): in this
 * thread when the job is small (a worker's start-up, ~0.2 CPU-s each, and the hand-offs to it
 * cost more than the work) or when the machine has less than a core and a half to spare now
 * (`spare`: spareCores, a 100 ms sample, taken only for a big job on 2 or more cores; a worker
 * would wait for a core at every hand-off, and one core gains nothing from a second thread);
 * else `parallelism` workers (default: the machine's cores).
 */
export async function jobPool(bytes: number, parallelism?: number, spare = spareCores, cores = availableParallelism()): Promise<WorkerPool> {
  const inline = bytes <= INLINE_BYTES || cores < 2 || (await spare(cores)) < 1.5;
  return new WorkerPool(parallelism ?? cores, { inline });
}

export interface PoolOptions {
  /** Run every task in this thread, one at a time (no worker is started): chunking files too. */
  inline?: boolean;
}

export class WorkerPool {
  private piscina?: Piscina;
  private inlineRun?: Promise<typeof import('./chunk-worker.js')>;
  /** The first files task run inline has readied this thread (chunk-worker readyByTurns). */
  private filesReady = false;
  readonly threads: number;
  readonly inline: boolean;
  /** The environment as it was when the pool was made: the workers get it, however late they start. */
  readonly #env = { ...process.env };

  /** Workers start on the first task that needs one, not here. */
  constructor(threads = availableParallelism(), o: PoolOptions = {}) {
    this.inline = o.inline === true;
    this.threads = this.inline ? 1 : Math.max(1, Math.min(threads, 64));
  }

  /** Whether any worker thread was started (an inline pool never starts one). */
  get workersStarted(): boolean {
    return this.piscina !== undefined;
  }

  private get pool(): Piscina {
    const n = this.threads;
    this.piscina ??= new Piscina({ filename: workerFile(), minThreads: n, maxThreads: n, idleTimeout: 60_000, execArgv: WORKER_EXEC_ARGV, env: this.#env });
    return this.piscina;
  }

  /** A task in a worker (buffers in `transfer` detached here), or in this thread when inline. */
  private async exec<R>(task: Task, transfer: ArrayBuffer[] = []): Promise<R> {
    if (!this.inline) return this.pool.run(task, { transferList: transfer as never }) as Promise<R>;
    return unwrapMoved(await this.here(task)) as R;
  }

  /** Runs a task in this thread, as a worker would (the worker module is loaded on first use). */
  private async here(task: Task): Promise<unknown> {
    this.inlineRun ??= import('./chunk-worker.js');
    const m = await this.inlineRun;
    if (task.kind === 'files' && !this.filesReady) {
      await m.readyByTurns(task);
      this.filesReady = true;
    }
    return m.default(task);
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
      // inline, both ends of the channel are in this thread: the messages go through its event loop
      const result = (this.inline ? await this.here(task) : await this.pool.run(task, { transferList: [port2] as never })) as FilesResult;
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
    return this.exec(task, transferList([data], 0));
  }

  /** Restore by pack: decodes, checks and writes one read's chunks (`data` is transferred). */
  packWrites(task: Omit<PackWritesTask, 'kind'>): Promise<FileProblem[]> {
    return this.exec({ kind: 'packWrites', ...task }, transferList([task.data, task.ids, task.sha256s], 0));
  }

  /** Restore by pack: checks files written in parts and renames them into place. */
  finishFiles(task: Omit<FinishFilesTask, 'kind'>): Promise<FileProblem[]> {
    return this.exec({ kind: 'finishFiles', ...task });
  }

  /** Check by pack: a pack's (or a slice's) chunks checked, whole files checked, the others' chunks returned. */
  packCheck(task: Omit<PackCheckTask, 'kind'>): Promise<PackCheckResult> {
    return this.exec({ kind: 'packCheck', ...task }, transferList([task.data, task.ids, task.sha256s], 0));
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
    return this.exec({ kind: 'backend' });
  }

  async close(): Promise<void> {
    await this.piscina?.destroy();
  }
}
