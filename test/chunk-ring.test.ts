/**
 * Recycled chunk memory (issue #22, peak RSS of a backup): the chunker keeps no reference to a
 * block once push() returns, so a files task reads every block into the same two buffers; chunks
 * come from a ring that hands memory out again only once released.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Ingestor } from '../src/backup/ingest.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';
import { WorkerPool } from '../src/workers/pool.js';
import { FastCDC, type ChunkerParams } from '../src/chunk/fastcdc.js';
import { ChunkRing, TaskMemory } from '../src/workers/chunk-ring.js';
import { pseudoRandom } from './helpers/tree.js';

const paramsArb = fc.integer({ min: 7, max: 12 }).chain((bits) => {
  const avg = 2 ** bits;
  return fc.record({ min: fc.integer({ min: 64, max: avg }), avg: fc.constant(avg), max: fc.integer({ min: avg, max: avg * 8 }) });
});

/** Chunks of `data` pushed through one reused block buffer, overwritten with junk after each push. */
function chunkThroughOneBuffer(data: Uint8Array, p: ChunkerParams, blockSize: number): Buffer[] {
  const cdc = new FastCDC(p);
  const buf = new Uint8Array(blockSize);
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += blockSize) {
    const block = buf.subarray(0, Math.min(blockSize, data.length - off));
    block.set(data.subarray(off, off + block.length));
    for (const c of cdc.push(block)) out.push(Buffer.from(c)); // copied now: the ring's test is below
    buf.fill(0xa5);
  }
  for (const c of cdc.finish()) out.push(Buffer.from(c));
  return out;
}

function chunkWhole(data: Uint8Array, p: ChunkerParams): Buffer[] {
  const cdc = new FastCDC(p);
  return [...cdc.push(data.slice()), ...cdc.finish()].map((c) => Buffer.from(c));
}

describe('FastCDC with a reused block buffer', () => {
  it('cuts the same chunks with the same bytes as from one block (no chunk reads a block after push)', () => {
    fc.assert(
      fc.property(paramsArb, fc.integer(), fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 300, max: 9_000 }), (p, seed, size, blockSize) => {
        const data = pseudoRandom(seed, size, seed % 3 === 0);
        const got = chunkThroughOneBuffer(data, p, blockSize);
        const want = chunkWhole(data, p);
        expect(got.map((c) => c.length)).toEqual(want.map((c) => c.length));
        expect(got.every((c, i) => c.equals(want[i]))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('ChunkRing', () => {
  it('never hands out memory a live chunk holds; released memory is used again; a chunk that does not fit is fresh', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 4096 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 1500 }), fc.boolean()), { minLength: 1, maxLength: 200 }), (size, steps) => {
        const ring = new ChunkRing(size);
        const live: { c: Uint8Array; v: number; mark: number }[] = [];
        let v = 0;
        for (const [n, release] of steps) {
          const c = ring.chunk(n);
          expect(c.length).toBe(n);
          c.fill(++v & 0xff);
          live.push({ c, v: v & 0xff, mark: ring.mark() });
          if (release && live.length > 1) {
            // the oldest half is used up: released in order, as a files task does
            const done = live.splice(0, Math.ceil(live.length / 2));
            ring.release(done[done.length - 1].mark);
          }
          for (const x of live) expect(x.c.every((b) => b === x.v)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reuses its memory once chunks are released, and gives fresh memory when full', () => {
    const ring = new ChunkRing(1000);
    const a = ring.chunk(600);
    const m = ring.mark();
    const b = ring.chunk(600); // does not fit beside a: fresh
    expect(b.buffer).not.toBe(a.buffer);
    expect(ring.overflows).toBe(1);
    ring.release(m);
    const c = ring.chunk(600);
    expect(c.buffer).toBe(a.buffer);
    expect(ring.overflows).toBe(1);
  });

  it('hands out its two read blocks in turn', () => {
    const mem = new TaskMemory(1024, 100);
    const x = mem.block(100);
    const y = mem.block(50);
    const z = mem.block(100);
    expect(x.buffer).not.toBe(y.buffer);
    expect(z.buffer).toBe(x.buffer);
  });
});

describe('a files task in recycled memory', () => {
  it('stores every chunk of a file several times the ring and block size with its own bytes (read back and compared)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mobr-ring-'));
    const pool = new WorkerPool(1, { inline: true }); // the task in this thread: same code as a worker's, no start-up
    try {
      // 24 MiB: the 4 MiB ring laps, each 2 MiB block is read 6 times
      const data = new Uint8Array(24 * 1024 * 1024);
      randomFillSync(data);
      const file = path.join(dir, 'big');
      writeFileSync(file, data);
      const repo = await Repository.init(new MemStore(), { compression: 'none', chunker: { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 } });
      const ing = new Ingestor(repo, pool);
      const f = await ing.ingest(file, data.length);
      await ing.finish();
      expect(f.size).toBe(data.length);
      let at = 0;
      for (let i = 0; i < f.chunks.length; i += 32) {
        const c = await repo.readChunk(f.chunks.subarray(i, i + 32));
        expect(Buffer.from(c).equals(Buffer.from(data.subarray(at, at + c.length)))).toBe(true);
        at += c.length;
      }
      expect(at).toBe(data.length);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
