/**
 * Recycled memory for a files task's chunks (issue #22, peak RSS). A backup worker used to make
 * a fresh buffer for every 2 MiB block it read and every chunk it cut; V8 frees such buffers only
 * when it collects, and a worker's small heap collects rarely, so each thread held tens of MiB
 * of dead chunks. Chunks are used in the order they are cut (a batch's ids are sent, then the
 * batch is stored, oldest first), so one ring serves them: `chunk(n)` takes the next n bytes,
 * `release(mark)` frees everything taken before `mark()` was read. When the ring is full (the
 * main thread is slow to answer), a chunk gets fresh memory, as before: the ring bounds memory,
 * never the pace.
 */
import type { ChunkMemory } from '../chunk/fastcdc.js';

export class ChunkRing implements ChunkMemory {
  carry = new Uint8Array(0);
  private ring: Uint8Array | undefined;
  /** Positions over the ring's whole life (ring offset = position % size): taken up to head, freed up to tail. */
  private head = 0;
  private tail = 0;
  /** Chunks that did not fit (fresh memory). */
  overflows = 0;

  constructor(readonly size: number) {}

  chunk(n: number): Uint8Array {
    let at = this.head;
    // a chunk never wraps: it starts the next lap when it would run past the ring's end
    if ((at % this.size) + n > this.size) at += this.size - (at % this.size);
    if (n > this.size || at + n - this.tail > this.size) {
      this.overflows++;
      return new Uint8Array(n);
    }
    this.ring ??= new Uint8Array(this.size);
    this.head = at + n;
    const o = at % this.size;
    return this.ring.subarray(o, o + n);
  }

  /** The position after every chunk taken so far (release it once those chunks are used). */
  mark(): number {
    return this.head;
  }

  /** Frees the chunks taken before `mark`: their memory may be handed out again. */
  release(mark: number): void {
    if (mark > this.tail) this.tail = mark;
  }
}

/** A files task's read memory: its chunk ring and two read blocks (one being chunked, the next being read). */
export class TaskMemory {
  readonly ring: ChunkRing;
  private readonly blocks: Uint8Array[] = [];
  private turn = 0;

  constructor(
    ringBytes: number,
    private readonly blockBytes: number,
  ) {
    this.ring = new ChunkRing(ringBytes);
  }

  /**
   * A read block of n bytes (at most blockBytes): the two blocks in turn, so the block handed out
   * before this one (still being chunked while this one is read) is never the same memory.
   */
  block(n: number): Uint8Array {
    this.turn ^= 1;
    return (this.blocks[this.turn] ??= new Uint8Array(this.blockBytes)).subarray(0, n);
  }

  /** Everything taken is free again (the task that used it has ended). */
  reset(): void {
    this.ring.release(this.ring.mark());
  }
}

/** Memories of ended tasks, kept for the next task in this thread (a worker runs one task at a time; inline, a few). */
const spare: TaskMemory[] = [];
const KEEP = 4;

export function taskMemory(ringBytes: number, blockBytes: number): TaskMemory {
  return spare.pop() ?? new TaskMemory(ringBytes, blockBytes);
}

export function endTaskMemory(m: TaskMemory): void {
  m.reset();
  if (spare.length < KEEP) spare.push(m);
}
