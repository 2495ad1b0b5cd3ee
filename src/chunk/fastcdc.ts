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

/** Incremental chunker: push blocks, receive whole chunks (fresh, unshared ArrayBuffers). */
export class FastCDC {
  private parts: Uint8Array[] = [];
  private len = 0;
  private h = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  /** `scanner` defaults to this thread's (WASM unless MOBR_CHUNKER=js); both cut alike. */
  constructor(
    private readonly p: ChunkerParams = DEFAULT_CHUNKER,
    private readonly scanner: GearScanner = defaultScanner(),
  ) {
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
