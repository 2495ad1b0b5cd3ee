/**
 * Transfer lists for typed arrays: each distinct ArrayBuffer once. By default only buffers a
 * view owns whole or nearly (>= 4 KiB views), because Node's small-Buffer pool and views into
 * shared buffers must be copied, never detached; a caller that owns every buffer passes min 0.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';

export function transferList(views: Iterable<Uint8Array>, min = 4096): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const v of views) {
    const b = v.buffer;
    if (b instanceof ArrayBuffer && v.byteLength >= min && b.byteLength > 0 && !seen.has(b)) seen.add(b);
  }
  return [...seen] as ArrayBuffer[];
}

/** Wraps a worker's result so piscina transfers the buffers of `views` instead of copying. */
export function moved<T extends object>(value: T, views: Iterable<Uint8Array>, min = 4096): unknown {
  const list = transferList(views, min);
  return move({
    get [transferableSymbol]() {
      return list;
    },
    get [valueSymbol]() {
      return value;
    },
  } as never);
}

/** A result as `moved` wrapped it, unwrapped (a task run in the calling thread, not a worker). */
export function unwrapMoved(r: unknown): unknown {
  return r !== null && typeof r === 'object' && valueSymbol in r ? (r as Record<symbol, unknown>)[valueSymbol] : r;
}
