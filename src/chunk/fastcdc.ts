/**
 * FastCDC content-defined chunking with normalized chunking (level 2), streaming
 * (spec/repository.md §4). A 32-bit gear hash h = (h << 1) + GEAR[byte] runs from the chunk's
 * min size on; before `avg` a cut needs (h & maskS) == 0, from `avg` on (h & maskL) == 0,
 * and a chunk never exceeds `max`. maskS has log2(avg)+2 high bits set, maskL log2(avg)-2.
 * The gear loop itself is a scanner (scanner.ts): WebAssembly, or JavaScript as the fallback.
 */
import { MobrError } from '../errors.js';
import { defaultScanner, type GearScanner } from './scanner.js';

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

/**
 * Where a chunker's bytes live. `chunk(n)`: the memory of a finished chunk of n bytes (fresh, or
 * a slice of memory the caller recycles once the chunk is used); `carry`: the one buffer the
 * bytes of an unfinished chunk wait in between blocks (grown when too small), so no block is
 * referenced after push() returns and the caller may read the next block into the same memory.
 */
export interface ChunkMemory {
  chunk(n: number): Uint8Array;
  carry: Uint8Array;
}

/** Fresh memory for every chunk, and a carry buffer of the chunker's own. */
const freshMemory = (): ChunkMemory => ({ chunk: (n) => new Uint8Array(n), carry: new Uint8Array(0) });

/**
 * Incremental chunker: push blocks, receive whole chunks (each a copy: no chunk shares memory
 * with a block). A block may be reused by the caller as soon as push() returns.
 */
export class FastCDC {
  /** Bytes of the unfinished chunk, at the start of mem.carry. */
  private len = 0;
  private h = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  /** `scanner` defaults to this thread's (WASM unless MOBR_CHUNKER=js); both cut alike. */
  constructor(
    private readonly p: ChunkerParams = DEFAULT_CHUNKER,
    private readonly scanner: GearScanner = defaultScanner(),
    private readonly mem: ChunkMemory = freshMemory(),
  ) {
    validateChunker(p);
    const bits = Math.log2(p.avg);
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
  }

  /** Feeds one block; returns the chunks it completed. The chunker keeps no reference to the block. */
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
        cut = this.scanner.scan(block, i, end, h, this.maskS);
        if (cut < 0) {
          h = this.scanner.state();
          pos += end - i;
          i = end;
        }
      }
      if (cut < 0 && pos >= avg) {
        const end = Math.min(n, i + (max - pos));
        cut = this.scanner.scan(block, i, end, h, this.maskL);
        if (cut < 0) {
          h = this.scanner.state();
          pos += end - i;
          i = end;
          if (pos >= max) cut = i;
        }
      }
      if (cut < 0) {
        this.keep(block.subarray(off));
        this.h = h;
        return out;
      }
      out.push(this.take(block.subarray(off, cut)));
      off = cut;
    }
    return out;
  }

  /** Ends the stream; returns the last chunk, if any bytes remain. */
  finish(): Uint8Array[] {
    return this.len > 0 ? [this.take(new Uint8Array(0))] : [];
  }

  /** Appends the block's unfinished tail to the carry buffer (grown to the next power of two, at most `max`). */
  private keep(tail: Uint8Array): void {
    const need = this.len + tail.length;
    if (need > this.mem.carry.length) {
      const grown = new Uint8Array(Math.max(need, Math.min(this.p.max, 2 ** Math.ceil(Math.log2(need)))));
      grown.set(this.mem.carry.subarray(0, this.len));
      this.mem.carry = grown;
    }
    this.mem.carry.set(tail, this.len);
    this.len = need;
  }

  /** The chunk of the carried bytes and `last` (the rest of it, in the current block). */
  private take(last: Uint8Array): Uint8Array {
    const chunk = this.mem.chunk(this.len + last.length);
    if (this.len > 0) chunk.set(this.mem.carry.subarray(0, this.len));
    chunk.set(last, this.len);
    this.len = 0;
    this.h = 0;
    return chunk;
  }
}
