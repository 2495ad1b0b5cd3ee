/**
 * Transfer lists for typed arrays: each distinct ArrayBuffer once, and only buffers a view owns
 * whole (Node's small-Buffer pool and views into shared buffers are copied, never detached).
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';

export function transferList(views: Iterable<Uint8Array>): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const v of views) {
    const b = v.buffer;
    if (b instanceof ArrayBuffer && v.byteLength >= 4096 && !seen.has(b)) seen.add(b);
  }
  return [...seen] as ArrayBuffer[];
}

/** Wraps a worker's result so piscina transfers the buffers of `views` instead of copying. */
export function moved<T extends object>(value: T, views: Iterable<Uint8Array>): unknown {
  const list = transferList(views);
  return move({
    get [transferableSymbol]() {
      return list;
    },
    get [valueSymbol]() {
      return value;
    },
  } as never);
}
