/**
 * The machine's ceilings, measured in the same run as the backups: sequential disk write and
 * read (dd), BLAKE3 (hash-wasm, as mobr uses it), SHA-256 (node:crypto) and FastCDC per core,
 * and chunk+hash throughput of the worker pool against a single worker thread over real files.
 */
import { promises as fsp } from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import * as path from 'node:path';
import { createBLAKE3 } from 'hash-wasm';
import { FastCDC, DEFAULT_CHUNKER } from '../src/chunk/fastcdc.js';
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
  blake3MBs: number;
  sha256MBs: number;
  fastcdcMBs: number;
  /** Both hashes over every byte, one pass, on all cores (the brief's "single-pass limit"). */
  hashLimitMBs: number;
  /** FastCDC + BLAKE3 + SHA-256 over every byte, on all cores. */
  pipelineLimitMBs: number;
}

function rate(bytes: number, f: () => void): number {
  f();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    f();
    best = Math.min(best, performance.now() - s);
  }
  return bytes / 1e6 / (best / 1000);
}

export async function cpuCeilings(cores: number, bytes = 256 * MiB): Promise<CpuCeilings> {
  const buf = new Uint8Array(bytes);
  for (let o = 0; o < bytes; o += 65536) randomFillSync(buf, o, Math.min(65536, bytes - o));
  const b3 = await createBLAKE3(256);
  const blake3MBs = rate(bytes, () => {
    for (let o = 0; o < bytes; o += MiB) {
      b3.init();
      b3.update(buf.subarray(o, o + MiB));
      b3.digest('binary');
    }
  });
  const sha256MBs = rate(bytes, () => {
    const h = createHash('sha256');
    for (let o = 0; o < bytes; o += 4 * MiB) h.update(buf.subarray(o, o + 4 * MiB));
    h.digest();
  });
  const fastcdcMBs = rate(bytes, () => {
    const c = new FastCDC(DEFAULT_CHUNKER);
    for (let o = 0; o < bytes; o += 4 * MiB) c.push(buf.subarray(o, o + 4 * MiB));
    c.finish();
  });
  const hashLimitMBs = cores / (1 / blake3MBs + 1 / sha256MBs);
  const pipelineLimitMBs = cores / (1 / blake3MBs + 1 / sha256MBs + 1 / fastcdcMBs);
  return { blake3MBs, sha256MBs, fastcdcMBs, hashLimitMBs, pipelineLimitMBs };
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
