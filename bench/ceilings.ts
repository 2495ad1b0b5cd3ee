/**
 * The machine's ceilings, measured in the same run as the backups: sequential disk write and
 * read (dd), BLAKE3 (native, as mobr uses it, and the WASM fallback), SHA-256 (node:crypto),
 * FastCDC (WASM scan, and the JavaScript fallback), zstd-3 (native, and the WASM fallback) and CRC-32C framing (MatrixOne's LocalFS blocks) per core,
 * and chunk+hash throughput of the worker pool against a single worker thread over real files.
 */
import { promises as fsp } from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import * as path from 'node:path';
import { createBlake3 } from '../src/hash/blake3.js';
import { codecReady, encodeChunk } from '../src/chunk/codec.js';
import { createZstd } from '../src/chunk/zstd.js';
import { frame } from '../src/mo/framing.js';
import { FastCDC, DEFAULT_CHUNKER } from '../src/chunk/fastcdc.js';
import { createScanner } from '../src/chunk/scanner.js';
import { WorkerPool } from '../src/workers/pool.js';
import { sh } from './proc.js';

const MiB = 1024 * 1024;

export interface DiskCeilings {
  writeMBs: number; // dd bs=4M conv=fdatasync
  readDirectMBs: number; // dd iflag=direct (device, no page cache)
  readCachedMBs: number; // dd, buffered, right after writing (page cache)
  dropCaches: string; // whether `echo 3 > /proc/sys/vm/drop_caches` worked
}

function ddRate(out: string): number {
  // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.23 s, 873 MB/s"
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`cannot parse dd output: ${out}`);
  return Number(m[1]) / 1e6 / Number(m[2]);
}

export async function diskCeilings(dir: string, bytes = 1024 * MiB): Promise<DiskCeilings> {
  const f = path.join(dir, 'dd.bin');
  const count = String(Math.max(1, Math.round(bytes / (4 * MiB))));
  await sh('dd', ['if=/dev/urandom', `of=${f}.src`, 'bs=4M', `count=${count}`]);
  // write from a cached source file so the source's cost stays out of the figure
  await sh('dd', [`if=${f}.src`, 'of=/dev/null', 'bs=4M']);
  const writeMBs = ddRate(await sh('dd', [`if=${f}.src`, `of=${f}`, 'bs=4M', 'conv=fdatasync']));
  const readCachedMBs = ddRate(await sh('dd', [`if=${f}`, 'of=/dev/null', 'bs=4M']));
  let dropCaches: string;
  try {
    await sh('sync', []);
    await fsp.writeFile('/proc/sys/vm/drop_caches', '3\n');
    dropCaches = 'worked';
  } catch (e) {
    dropCaches = `refused (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): reads of the data set come from the page cache`;
  }
  let readDirectMBs = NaN;
  try {
    readDirectMBs = ddRate(await sh('dd', [`if=${f}`, 'of=/dev/null', 'bs=4M', 'iflag=direct']));
  } catch {
    /* O_DIRECT unsupported here */
  }
  await fsp.rm(f, { force: true });
  await fsp.rm(`${f}.src`, { force: true });
  return { writeMBs, readDirectMBs, readCachedMBs, dropCaches };
}

export interface CpuCeilings {
  /** Native BLAKE3 (@napi-rs/blake-hash), what mobr hashes with. */
  blake3MBs: number;
  /** The WASM fallback (hash-wasm). */
  blake3WasmMBs: number;
  /** zstd level 3 on half-compressible data, native (@toondepauw/node-zstd), what mobr uses. */
  zstdMBs: number;
  /** The same with the WASM fallback (@bokuweb/zstd-wasm). */
  zstdWasmMBs: number;
  /** Policy 'auto' over incompressible chunks: only the 64 KiB level-1 sample is compressed. */
  autoSkipMBs: number;
  /** CRC-32C LocalFS framing (mo/framing.ts) of 2 KiB blocks. */
  crc32cFramingMBs: number;
  sha256MBs: number;
  /** FastCDC with the gear scan in WebAssembly, what mobr chunks with. */
  fastcdcMBs: number;
  /** FastCDC with the JavaScript scan (the fallback, MOBR_CHUNKER=js). */
  fastcdcJsMBs: number;
  /** Both hashes over every byte, one pass, on all cores (the brief's "single-pass limit"). */
  hashLimitMBs: number;
  /** FastCDC + BLAKE3 + SHA-256 over every byte, on all cores. */
  pipelineLimitMBs: number;
}

/**
 * Bytes per second of CPU time (this process's user + system, best of 5): on a machine other
 * programs share, wall time also counts the moments this one waits for a core.
 */
function rate(bytes: number, f: () => void): number {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const s = cpuMs();
    f();
    best = Math.min(best, cpuMs() - s);
  }
  return bytes / 1e6 / (best / 1000);
}

export async function cpuCeilings(cores: number, bytes = 256 * MiB): Promise<CpuCeilings> {
  const buf = new Uint8Array(bytes);
  for (let o = 0; o < bytes; o += 65536) randomFillSync(buf, o, Math.min(65536, bytes - o));
  const [native, wasm] = await Promise.all([createBlake3({ prefer: 'native' }), createBlake3({ prefer: 'wasm' })]);
  const b3rate = (h: typeof native) =>
    rate(bytes, () => {
      for (let o = 0; o < bytes; o += MiB) h.hash(buf.subarray(o, o + MiB));
    });
  const blake3MBs = b3rate(native);
  const blake3WasmMBs = b3rate(wasm);
  await codecReady();
  const half = new Uint8Array(64 * MiB);
  for (let o = 0; o < half.length; o += 8192) half.set(buf.subarray(o, o + 4096), o); // 4 KiB random, 4 KiB zeros
  const zstdRate = async (prefer: 'native' | 'wasm') => {
    const z = await createZstd({ prefer });
    return rate(half.length, () => {
      for (let o = 0; o < half.length; o += MiB) z.compress(half.subarray(o, o + MiB), 3);
    });
  };
  const zstdMBs = await zstdRate('native');
  const zstdWasmMBs = await zstdRate('wasm');
  const autoSkipMBs = rate(64 * MiB, () => {
    for (let o = 0; o < 64 * MiB; o += MiB) encodeChunk(buf.subarray(o, o + MiB), 'auto');
  });
  const crc32cFramingMBs = rate(64 * MiB, () => {
    for (let o = 0; o < 64 * MiB; o += 4 * MiB) frame(buf.subarray(o, o + 4 * MiB));
  });
  const sha256MBs = rate(bytes, () => {
    const h = createHash('sha256');
    for (let o = 0; o < bytes; o += 4 * MiB) h.update(buf.subarray(o, o + 4 * MiB));
    h.digest();
  });
  const cdcRate = (prefer: 'wasm' | 'js') => {
    const scanner = createScanner({ prefer });
    return rate(bytes, () => {
      const c = new FastCDC(DEFAULT_CHUNKER, scanner);
      for (let o = 0; o < bytes; o += 2 * MiB) c.push(buf.subarray(o, o + 2 * MiB)); // the workers' read size
      c.finish();
    });
  };
  const fastcdcMBs = cdcRate('wasm');
  const fastcdcJsMBs = cdcRate('js');
  const hashLimitMBs = cores / (1 / blake3MBs + 1 / sha256MBs);
  const pipelineLimitMBs = cores / (1 / blake3MBs + 1 / sha256MBs + 1 / fastcdcMBs);
  return { blake3MBs, blake3WasmMBs, zstdMBs, zstdWasmMBs, autoSkipMBs, crc32cFramingMBs, sha256MBs, fastcdcMBs, fastcdcJsMBs, hashLimitMBs, pipelineLimitMBs };
}

export interface PoolThroughput {
  bytes: number;
  threads: number;
  poolMBs: number;
  oneThreadMBs: number;
}

/** Read + FastCDC + BLAKE3 + SHA-256 of files in the pool (nothing stored), N threads vs 1. */
export async function poolThroughput(files: string[], threads: number): Promise<PoolThroughput> {
  let bytes = 0;
  const run = async (n: number): Promise<number> => {
    const pool = new WorkerPool(n);
    try {
      // warm the workers (WASM compile) outside the timing
      await Promise.all(Array.from({ length: n }, () => pool.chunkFiles([files[0]], [0], DEFAULT_CHUNKER, 'none', (m) => m.sizes.map(() => false), async () => undefined)));
      let next = 0;
      let total = 0;
      const s = performance.now();
      await Promise.all(
        Array.from({ length: n }, async () => {
          while (next < files.length) {
            const r = await pool.chunkFiles([files[next++]], [0], DEFAULT_CHUNKER, 'none', (m) => m.sizes.map(() => false), async () => undefined);
            total += r.files[0]?.size ?? 0;
          }
        }),
      );
      bytes = total;
      return total / 1e6 / ((performance.now() - s) / 1000);
    } finally {
      await pool.close();
    }
  };
  const poolMBs = await run(threads);
  const oneThreadMBs = await run(1);
  return { bytes, threads, poolMBs, oneThreadMBs };
}
