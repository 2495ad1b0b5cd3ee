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
import { transferList } from './transfer.js';
import type { DataMessage, DecodeResult, FileResult, IdsMessage } from './tasks.js';

/** Worker file: the compiled .js next to this module (under vitest, src/*.ts maps to dist/src/*.js). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return here.replace(/([\\/])src([\\/]workers[\\/])pool\.ts$/, '$1dist$1src$2chunk-worker.js');
  return here.replace(/pool\.js$/, 'chunk-worker.js');
}

export class WorkerPool {
  private readonly pool: Piscina;
  readonly threads: number;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, Math.min(threads, 64));
    this.pool = new Piscina({ filename: workerFile(), minThreads: this.threads, maxThreads: this.threads, idleTimeout: 60_000 });
  }

  /**
   * Chunks, hashes and compresses one file in a worker (protocol in tasks.ts). `isNew` decides
   * per chunk id, in file order, whether the repository needs it; `onData` receives the encoded
   * new chunks and is awaited before the worker may run further ahead.
   */
  async chunkFile(
    path: string,
    chunker: ChunkerParams,
    policy: CompressionPolicy,
    onIds: (m: IdsMessage) => boolean[],
    onData: (m: DataMessage) => Promise<void>,
  ): Promise<FileResult> {
    const { port1, port2 } = new MessageChannel();
    let chain: Promise<void> = Promise.resolve();
    let failed: unknown;
    port1.on('message', (m: IdsMessage | DataMessage) => {
      if (m.t === 'ids') {
        let want: boolean[];
        try {
          want = failed === undefined ? onIds(m) : m.ids.map(() => false);
        } catch (e) {
          failed ??= e;
          want = m.ids.map(() => false);
        }
        port1.postMessage({ t: 'want', want });
        return;
      }
      chain = chain.then(async () => {
        if (failed === undefined) {
          try {
            await onData(m);
          } catch (e) {
            failed = e;
          }
        }
        port1.postMessage('ack');
      });
    });
    try {
      const result: FileResult = await this.pool.run({ kind: 'file', path, chunker, policy, port: port2 }, { transferList: [port2] as never });
      await chain;
      if (failed !== undefined) throw failed;
      return result;
    } finally {
      port1.close();
    }
  }

  decode(stored: Uint8Array[], codecs: number[], rawLengths: number[], ids: Uint8Array[]): Promise<DecodeResult> {
    return this.pool.run({ kind: 'decode', stored, codecs, rawLengths, ids }, { transferList: transferList(stored) as never });
  }

  /** The BLAKE3 implementation one of the workers hashes with. */
  blake3Backend(): Promise<Blake3Backend> {
    return this.pool.run({ kind: 'backend' });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
