/**
 * BLAKE3-256, the chunk id and object-name hash (spec/repository.md §1).
 * Backed by hash-wasm: measured here at ~800 MB/s a core against ~780 MB/s for blake3-wasm@2.1.5
 * (bench/hash.ts), and it installs cleanly (blake3-wasm@3 does not).
 * Call `blake3Ready()` once before using the synchronous `blake3()`.
 */
import { createBLAKE3, type IHasher } from 'hash-wasm';

let hasher: IHasher | undefined;

export async function blake3Ready(): Promise<void> {
  if (!hasher) hasher = await createBLAKE3(256);
}

export function blake3(...parts: Uint8Array[]): Uint8Array {
  if (!hasher) throw new Error('blake3Ready() was not awaited');
  hasher.init();
  for (const p of parts) hasher.update(p);
  return hasher.digest('binary');
}

export async function blake3Async(data: Uint8Array): Promise<Uint8Array> {
  await blake3Ready();
  return blake3(data);
}
