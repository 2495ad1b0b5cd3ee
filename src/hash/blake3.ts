/**
 * BLAKE3-256, the chunk id and object-name hash (spec/repository.md §1).
 * Two implementations giving the same digests (test/blake3.test.ts checks both against the
 * official test vectors):
 *  - native: @napi-rs/blake-hash, a prebuilt N-API binding of the Rust `blake3` crate (SIMD,
 *    measured here ~4–5 GB/s a core; bench/ceilings.ts);
 *  - wasm: hash-wasm (~0.8 GB/s a core), the fallback where no binary loads for the platform.
 * MOBR_BLAKE3=wasm forces the fallback (for tests and for comparing the two).
 * Call `blake3Ready()` once before using the synchronous `blake3()`.
 */
import { loadBinding } from '../util/native.js';

export type Blake3Backend = 'native' | 'wasm';

export interface Blake3 {
  readonly backend: Blake3Backend;
  /** BLAKE3-256 of the concatenation of parts; a fresh 32-byte array with its own buffer. */
  hash(...parts: Uint8Array[]): Uint8Array;
}

interface NativeBlake {
  blake3(input: Uint8Array): Uint8Array;
  Blake3Hasher: new () => { update(input: Uint8Array): unknown; digestBuffer(): Uint8Array };
}
/** The binding's keyed mode (a hasher reset after each digest keeps its key). */
type NativeKeyed = { newKeyed(key: Uint8Array): { update(input: Uint8Array): unknown; digestBuffer(): Uint8Array; reset(): void } };

/** Loads the native binding, or returns undefined when it cannot load on this platform. */
type NativeLoader = () => NativeBlake | undefined;

export function loadNative(name = '@napi-rs/blake-hash'): NativeBlake | undefined {
  return loadBinding<NativeBlake>(name, '@napi-rs/blake-hash');
}

/** A plain Uint8Array over the binding's Buffer (no copy), so callers see one type. */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function nativeBlake3(n: NativeBlake): Blake3 {
  return {
    backend: 'native',
    hash(...parts) {
      if (parts.length === 1) return plain(n.blake3(parts[0]));
      const h = new n.Blake3Hasher();
      for (const p of parts) h.update(p);
      return plain(h.digestBuffer());
    },
  };
}

/** hash-wasm's BLAKE3, keyed when `key` is given. */
async function wasmBlake3(key?: Uint8Array): Promise<Blake3> {
  const { createBLAKE3 } = await import('hash-wasm'); // loaded only where the fallback is used
  const h = await createBLAKE3(256, key);
  return {
    backend: 'wasm',
    hash(...parts) {
      h.init();
      for (const p of parts) h.update(p);
      return h.digest('binary');
    },
  };
}

/**
 * Makes a hasher: the native one unless `prefer` is 'wasm' or the loader finds no binary.
 * The default preference is MOBR_BLAKE3 from the environment ('wasm' forces the fallback).
 */
export async function createBlake3(o: { prefer?: Blake3Backend; load?: NativeLoader } = {}): Promise<Blake3> {
  const prefer = o.prefer ?? (process.env.MOBR_BLAKE3 === 'wasm' ? 'wasm' : 'native');
  const n = prefer === 'native' ? (o.load ? o.load() : loadNative()) : undefined;
  if (n) {
    // A binary that loads but hashes wrongly would corrupt ids: check one known vector first.
    const h = nativeBlake3(n);
    if (Buffer.from(h.hash(new Uint8Array(0))).toString('hex') === EMPTY_DIGEST) return h;
  }
  return wasmBlake3();
}

/** BLAKE3 of the empty input (official test vectors). */
const EMPTY_DIGEST = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';

let shared: Blake3 | undefined;
let sharedP: Promise<Blake3> | undefined;

export async function blake3Ready(): Promise<void> {
  sharedP ??= createBlake3().then((h) => (shared = h));
  await sharedP;
}

/** Which implementation `blake3()` uses in this thread (after blake3Ready()). */
export function blake3Backend(): Blake3Backend {
  if (!shared) throw new Error('blake3Ready() was not awaited');
  return shared.backend;
}

export function blake3(...parts: Uint8Array[]): Uint8Array {
  if (!shared) throw new Error('blake3Ready() was not awaited');
  return shared.hash(...parts);
}

/**
 * BLAKE3-256 in keyed mode (the chunk ids and key derivation of an encrypted repository,
 * spec/encryption.md): the same implementation `blake3()` uses in this thread, keyed with a
 * 32-byte secret. One hasher, reset after each digest: no native object is made per call.
 */
export async function keyedBlake3(key: Uint8Array, prefer?: Blake3Backend): Promise<Blake3> {
  if (key.length !== 32) throw new Error('a BLAKE3 key is 32 bytes');
  await blake3Ready();
  const n = (prefer ?? shared!.backend) === 'native' ? loadNative() : undefined;
  if (n) {
    const h = (n.Blake3Hasher as unknown as NativeKeyed).newKeyed(Buffer.from(key));
    return {
      backend: 'native',
      hash(...parts) {
        h.reset();
        for (const p of parts) h.update(p);
        return plain(h.digestBuffer());
      },
    };
  }
  return wasmBlake3(key);
}
