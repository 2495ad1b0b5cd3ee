/**
 * FastCDC content-defined chunking with normalized chunking (level 2), streaming
 * (spec/repository.md §4). A 32-bit gear hash h = (h << 1) + GEAR[byte] runs from the chunk's
 * min size on; before `avg` a cut needs (h & maskS) == 0, from `avg` on (h & maskL) == 0,
 * and a chunk never exceeds `max`. maskS has log2(avg)+2 high bits set, maskL log2(avg)-2.
 */
import { MobrError } from '../errors.js';
import { GEAR } from './gear.js';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNKER: ChunkerParams = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

function highMask(bits: number): number {
  const b = Math.max(1, Math.min(31, bits));
  return (~0 << (32 - b)) | 0;
}

export function validateChunker(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || !(p.min >= 64 && p.min <= p.avg && p.avg <= p.max) || p.max > 64 * 1024 * 1024) {
    throw new MobrError('BAD_INPUT', `bad chunker parameters min=${p.min} avg=${p.avg} max=${p.max} (need 64 <= min <= avg <= max <= 64 MiB, avg a power of two)`);
  }
}

/** The gear hash state after a scanGear call that found no cut. */
let scanState = 0;

/**
 * Rolls the gear hash over block[i..end) from state h; returns the index just past the first
 * position where (h & mask) == 0, or -1 (then `scanState` holds the final h). Unrolled by 8:
 * the loop is the chunker's whole cost (before: one check a byte in a plain loop, ~500 MB/s).
 */
function scanGear(block: Uint8Array, i: number, end: number, h: number, mask: number): number {
  const G = GEAR;
  const end8 = end - 7;
  for (; i < end8; i += 8) {
    h = ((h << 1) + G[block[i]]) | 0;
    if ((h & mask) === 0) return i + 1;
    h = ((h << 1) + G[block[i + 1]]) | 0;
    if ((h & mask) === 0) return i + 2;
    h = ((h << 1) + G[block[i + 2]]) | 0;
    if ((h & mask) === 0) return i + 3;
    h = ((h << 1) + G[block[i + 3]]) | 0;
    if ((h & mask) === 0) return i + 4;
    h = ((h << 1) + G[block[i + 4]]) | 0;
    if ((h & mask) === 0) return i + 5;
    h = ((h << 1) + G[block[i + 5]]) | 0;
    if ((h & mask) === 0) return i + 6;
    h = ((h << 1) + G[block[i + 6]]) | 0;
    if ((h & mask) === 0) return i + 7;
    h = ((h << 1) + G[block[i + 7]]) | 0;
    if ((h & mask) === 0) return i + 8;
  }
  for (; i < end; i++) {
    h = ((h << 1) + G[block[i]]) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  scanState = h;
  return -1;
}

/** Incremental chunker: push blocks, receive whole chunks (fresh, unshared ArrayBuffers). */
export class FastCDC {
  private parts: Uint8Array[] = [];
  private len = 0;
  private h = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(private readonly p: ChunkerParams = DEFAULT_CHUNKER) {
    validateChunker(p);
    const bits = Math.log2(p.avg);
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
  }

  /** Feeds one block; returns the chunks it completed. The block must not be reused by the caller. */
  push(block: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const { min, avg, max } = this.p;
    let off = 0;
    while (off < block.length) {
      let i = off;
      const n = block.length;
      let pos = this.len;
      if (pos < min) {
        const skip = Math.min(min - pos, n - i);
        i += skip;
        pos += skip;
      }
      let h = this.h;
      let cut = -1;
      if (pos < avg) {
        const end = Math.min(n, i + (avg - pos));
        cut = scanGear(block, i, end, h, this.maskS);
        if (cut < 0) {
          h = scanState;
          pos += end - i;
          i = end;
        }
      }
      if (cut < 0 && pos >= avg) {
        const end = Math.min(n, i + (max - pos));
        cut = scanGear(block, i, end, h, this.maskL);
        if (cut < 0) {
          h = scanState;
          pos += end - i;
          i = end;
          if (pos >= max) cut = i;
        }
      }
      if (cut < 0) {
        this.parts.push(block.subarray(off));
        this.len += n - off;
        this.h = h;
        return out;
      }
      this.parts.push(block.subarray(off, cut));
      this.len += cut - off;
      out.push(this.take());
      off = cut;
    }
    return out;
  }

  /** Ends the stream; returns the last chunk, if any bytes remain. */
  finish(): Uint8Array[] {
    return this.len > 0 ? [this.take()] : [];
  }

  private take(): Uint8Array {
    const parts = this.parts;
    let chunk: Uint8Array;
    if (parts.length === 1 && parts[0].byteOffset === 0 && parts[0].byteLength === parts[0].buffer.byteLength) {
      chunk = parts[0];
    } else {
      chunk = new Uint8Array(this.len);
      let o = 0;
      for (const p of parts) {
        chunk.set(p, o);
        o += p.length;
      }
    }
    this.parts = [];
    this.len = 0;
    this.h = 0;
    return chunk;
  }
}

/** Streams chunks out of a stream of blocks (IPFS-style strategy over async iterables). */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, p: ChunkerParams = DEFAULT_CHUNKER): AsyncIterable<Uint8Array> {
  const cdc = new FastCDC(p);
  for await (const block of source) yield* cdc.push(block);
  yield* cdc.finish();
}
