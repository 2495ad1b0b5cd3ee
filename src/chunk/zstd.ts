/**
 * zstd for codec 1 (spec/repository.md §5.2): plain zstd frames, from one of two encoders —
 *  - native: @toondepauw/node-zstd, a prebuilt N-API binding of libzstd (Rust `zstd` crate), no
 *    install script; ~1.7× the WASM encoder a core here (bench/ceilings.ts); chunks under
 *    NATIVE_FROM go to the WASM encoder even so (its context is reused, the binding's is not);
 *  - wasm: @bokuweb/zstd-wasm, the fallback where no binary loads for the platform.
 * MOBR_ZSTD=wasm forces the fallback. Decoding always uses the WASM build: it decodes into a
 * buffer of the known size and measured faster here than the binding, which grows its output.
 * Call `zstdReady()` once before the synchronous functions (`zstdDecoderReady()` before
 * `zstdDecompress` alone).
 */
import { loadBinding } from '../util/native.js';
import { init as wasmInit, createCCtx, compressUsingDict, decompress as wasmDecompress } from '@bokuweb/zstd-wasm';

type ZstdBackend = 'native' | 'wasm';

export interface ZstdEncoder {
  readonly backend: ZstdBackend;
  /** One zstd frame of `data` at `level`, with the content size in its header. */
  compress(data: Uint8Array, level: number): Uint8Array;
  /** The length `compress` would return, without building that frame (the 'auto' sample). */
  compressedSize(data: Uint8Array, level: number): number;
}

interface NativeZstd {
  Encoder: new (level: number) => { encodeSync(data: Uint8Array): Uint8Array };
}

type NativeZstdLoader = () => NativeZstd | undefined;

/** Loads the native binding, or returns undefined when it cannot load on this platform. */
export function loadNativeZstd(name = '@toondepauw/node-zstd'): NativeZstd | undefined {
  return loadBinding<NativeZstd>(name, '@toondepauw/node-zstd');
}

const MAGIC = 0xfd2fb528;

/** Where the 4-byte content size goes in `frame`, or -1 when it is not to be added. */
function contentSizeAt(frame: Uint8Array, size: number): number {
  if (frame.length < 6 || size > 0xffffffff) return -1;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const fhd = frame[4];
  // FCS flag 0, Single_Segment 0 (so a window byte follows), reserved bit 0
  if (view.getUint32(0, true) !== MAGIC || (fhd & 0xe8) !== 0) return -1;
  const at = 6 + [0, 1, 2, 4][fhd & 3];
  return frame.length < at ? -1 : at;
}

/**
 * The binding streams, so its frames leave the content size out; this adds it (RFC 8878
 * §3.1.1.1: Frame_Content_Size_flag 2, a 4-byte field after the window and dictionary fields),
 * so every decoder, mobr 0.1.0's included, can size its output from the header. A frame that
 * already declares its size, or that is not a plain frame header, is returned as it is.
 */
export function withContentSize(frame: Uint8Array, size: number): Uint8Array {
  const at = contentSizeAt(frame, size);
  if (at < 0) return frame;
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, at));
  out[4] = frame[4] | 0x80;
  new DataView(out.buffer).setUint32(at, size, true);
  out.set(frame.subarray(at), at + 4);
  return out;
}

/**
 * Below this size a chunk goes to the WASM encoder's reused context instead: the binding builds a
 * full level-3 compressor (tables sized for any input) on every call, a fixed ~15 µs that a 1 KiB
 * chunk's compression does not need; from about 3 KiB of compressible data the native code's
 * speed wins (measured here: random 600 B 22 → 10 µs, text 600 B 20 → 13 µs; text 4 KiB 29 vs 33).
 */
export const NATIVE_FROM = 3 * 1024;

function nativeEncoder(n: NativeZstd, small: ZstdEncoder): ZstdEncoder {
  const encoders = new Map<number, InstanceType<NativeZstd['Encoder']>>();
  const encode = (data: Uint8Array, level: number): Uint8Array => {
    let e = encoders.get(level);
    if (!e) encoders.set(level, (e = new n.Encoder(level)));
    return e.encodeSync(data);
  };
  return {
    backend: 'native',
    compress(data, level) {
      if (data.length < NATIVE_FROM) return small.compress(data, level);
      return withContentSize(encode(data, level), data.length);
    },
    compressedSize(data, level) {
      if (data.length < NATIVE_FROM) return small.compressedSize(data, level);
      const frame = encode(data, level);
      return frame.length + (contentSizeAt(frame, data.length) < 0 ? 0 : 4);
    },
  };
}

/**
 * One WASM compression context per thread, reused: ZSTD_compress builds and clears a fresh
 * context on every call, which for a 64 KiB 'auto' sample costs about as much as compressing it.
 * With no dictionary (size 0), ZSTD_compress_usingDict is what ZSTD_compress runs
 * (zstd_compress.c: ZSTD_compressCCtx), so the frames are byte-identical.
 */
function wasmEncoder(): ZstdEncoder {
  let cctx: number | undefined;
  const noDict = new Uint8Array(0);
  return {
    backend: 'wasm',
    compress(data, level) {
      cctx ??= createCCtx();
      return compressUsingDict(cctx, data, noDict, level);
    },
    compressedSize(data, level) {
      return this.compress(data, level).length;
    },
  };
}

let wasmP: Promise<void> | undefined;
let wasmLoaded = false;
/** Instantiates the WASM build once per thread (each init() makes a new instance and heap). */
function wasmReady(): Promise<void> {
  wasmP ??= wasmInit().then(() => void (wasmLoaded = true));
  return wasmP;
}

/** Whether this thread has loaded the WASM build (for decoding, or as the encoder). */
export const zstdLoaded = (): boolean => wasmLoaded;

/**
 * Readies decoding only (the WASM build), not an encoder: a restore or check needs no encoder,
 * so it skips the native binding's self-check (a 200 KB frame made and decoded).
 */
export function zstdDecoderReady(): Promise<void> {
  return wasmReady();
}

/** A fixed, half-compressible input for the self-check. */
function probe(): Uint8Array {
  const d = new Uint8Array(200_000);
  let x = 1;
  for (let i = 0; i < d.length; i++) d[i] = (i >> 10) % 2 === 0 ? (x = (x * 1103515245 + 12345) >>> 16) : i & 7;
  return d;
}

/**
 * Makes an encoder: the native one unless `prefer` is 'wasm' (default: MOBR_ZSTD) or the
 * loader finds no binary. A binary that loads but whose frame the WASM decoder does not turn
 * back into the input, or whose header lacks the size, is not used.
 */
export async function createZstd(o: { prefer?: ZstdBackend; load?: NativeZstdLoader } = {}): Promise<ZstdEncoder> {
  await wasmReady();
  const prefer = o.prefer ?? (process.env.MOBR_ZSTD === 'wasm' ? 'wasm' : 'native');
  const n = prefer === 'native' ? (o.load ? o.load() : loadNativeZstd()) : undefined;
  if (n) {
    try {
      const z = nativeEncoder(n, wasmEncoder());
      const input = probe();
      const frame = z.compress(input, 3);
      if ((frame[4] & 0xc0) !== 0 && frame.length < input.length && Buffer.from(wasmDecompress(frame)).equals(input)) return z;
    } catch {
      // a binding that throws here is not used
    }
  }
  return wasmEncoder();
}

let shared: ZstdEncoder | undefined;
let sharedP: Promise<ZstdEncoder> | undefined;

export async function zstdReady(): Promise<void> {
  sharedP ??= createZstd().then((z) => (shared = z));
  await sharedP;
}

function encoder(): ZstdEncoder {
  if (!shared) throw new Error('zstdReady() was not awaited');
  return shared;
}

/** Which encoder this thread uses (after zstdReady()). */
export function zstdBackend(): ZstdBackend {
  return encoder().backend;
}

export function zstdCompress(data: Uint8Array, level: number): Uint8Array {
  return encoder().compress(data, level);
}

export function zstdCompressedSize(data: Uint8Array, level: number): number {
  return encoder().compressedSize(data, level);
}

/**
 * Decodes one frame expected to hold `rawLength` bytes; throws if it does not decode. A frame
 * without a content size decodes into `rawLength` bytes of room (the WASM default is 1 MiB).
 */
export function zstdDecompress(frame: Uint8Array, rawLength: number): Uint8Array {
  if (!wasmLoaded) throw new Error('zstdDecoderReady() was not awaited');
  return wasmDecompress(frame, { defaultHeapSize: Math.max(1, rawLength) });
}
