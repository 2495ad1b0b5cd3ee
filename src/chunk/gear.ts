/**
 * The FastCDC gear table (spec/repository.md §4.1): GEAR[i] is the little-endian u32 made of the
 * first 4 bytes of SHA-256("mobr-gear-v1:" + i) for i = 0..255. Fixed forever for chunker
 * version 'fastcdc-mobr-v1': changing it changes every chunk boundary.
 * An encrypted repository's table is secret (spec/encryption.md §5): the same strings under
 * HMAC-SHA256 keyed with the repository's chunker seed (`gearFromSeed`).
 */
import { createHash, createHmac } from 'node:crypto';

function makeGear(seed?: Uint8Array): Int32Array {
  const g = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const h = seed ? createHmac('sha256', seed) : createHash('sha256');
    g[i] = h.update(`mobr-gear-v1:${i}`).digest().readInt32LE(0);
  }
  return g;
}

export const GEAR: Int32Array = makeGear();

/** The two scans over the table (scanner.ts): WebAssembly (gear-wasm.ts) and plain JavaScript. */
export type ChunkerBackend = 'wasm' | 'js';

/**
 * Rolls h = (h << 1) + GEAR[byte] over block[i..end); returns the index just past the first
 * position where (h & mask) == 0, or -1, after which `state()` gives the final h.
 */
export interface GearScanner {
  readonly backend: ChunkerBackend;
  scan(block: Uint8Array, i: number, end: number, h: number, mask: number): number;
  state(): number;
}

/** The secret gear table of an encrypted repository, from its 32-byte chunker seed. */
export function gearFromSeed(seed: Uint8Array): Int32Array {
  if (seed.length !== 32) throw new Error('a chunker seed is 32 bytes');
  return makeGear(seed);
}
