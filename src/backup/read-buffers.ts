/**
 * Reused buffers for ranged pack reads (restore by pack). A fresh buffer for every read makes the
 * kernel hand out and zero new pages each time: one page fault per 4 KiB read, which measured
 * ~3 CPU-s a GB of system time on a 2-core VM (more than reading, hashing and writing the bytes).
 * A slot is a SharedArrayBuffer, so the worker tasks of a read see views of it without a copy or
 * a transfer, and it comes back to the free list once every task of its read has ended.
 */
import { owned } from './reader.js';
export class ReadBuffers {
  private readonly free: SharedArrayBuffer[] = [];

  constructor(
    /** Bytes a slot holds (the longest planned read); a longer read gets no slot. */
    private readonly size: number,
    /** Slots kept for reuse at most (the reads in flight at once). */
    private readonly keep: number,
  ) {}

  /** A view of `length` bytes at the start of a free slot (a new one if none is free), or undefined past the slot size. */
  take(length: number): Uint8Array | undefined {
    if (length > this.size) return undefined;
    // a new slot's pages are only touched (and counted in RSS) as reads fill them
    return new Uint8Array(this.free.pop() ?? new SharedArrayBuffer(this.size), 0, length);
  }

  /** Gives a slot back: nothing may read or write `view` (or another view of its slot) after this. */
  give(view: Uint8Array | undefined): void {
    const b = view?.buffer;
    if (b instanceof SharedArrayBuffer && b.byteLength === this.size && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }
}

/** Whether `b` is a view of shared memory (worker tasks get views of it, never copies or transfers). */
export const isShared = (b: Uint8Array): boolean => b.buffer instanceof SharedArrayBuffer;

/**
 * The bytes a pack task sends: a view of a shared slot as it is; a pack the store read
 * into its own buffer (S3) handed over whole, or its slice copied out (a view would clone the
 * whole buffer).
 */
export function sendable(bytes: Uint8Array, base: number, end: number): Uint8Array {
  if (isShared(bytes)) return bytes.subarray(base, end);
  return base === 0 && end === bytes.length ? owned(bytes) : new Uint8Array(bytes.subarray(base, end));
}
