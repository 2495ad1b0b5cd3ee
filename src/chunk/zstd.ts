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
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { loadBinding } from '../util/native.js';
import { init as wasmInit, createCCtx, compressUsingDict, decompress as wasmDecompress } from '@bokuweb/zstd-wasm';

type ZstdBackend = 'native' | 'wasm';

export interface ZstdEncoder {
  readonly backend: ZstdBackend;
  /** One zstd frame of `data` at `level`, with the content size in its header. */
  compress(data: Uint8Array, level: number): Uint8Array;
  /**
   * The length `compress` would return, without building that frame in JS memory where it can
   * (the 'auto' sample); the native encoder may measure with the WASM one (a few bytes apart).
   */
  compressedSize(data: Uint8Array, level: number): number;
  /**
   * `compress`, but undefined, with no frame built in JS memory, when the frame would not be
   * shorter than `limit` (a chunk then stored as is).
   */
  compressBelow(data: Uint8Array, level: number, limit: number): Uint8Array | undefined;
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

/** Frames this thread has built in JS memory (a Buffer or Uint8Array per frame), for tests. */
export const zstdFramesBuilt = { count: 0 };

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
  /** Whether the last chunk or sample measured here shrank by 10% (see compressedSize); the binding first. */
  let sampleShrank = true;
  const encoders = new Map<number, InstanceType<NativeZstd['Encoder']>>();
  const encode = (data: Uint8Array, level: number): Uint8Array => {
    let e = encoders.get(level);
    if (!e) encoders.set(level, (e = new n.Encoder(level)));
    zstdFramesBuilt.count++;
    return e.encodeSync(data);
  };
  return {
    backend: 'native',
    compress(data, level) {
      if (data.length < NATIVE_FROM) return small.compress(data, level);
      return withContentSize(encode(data, level), data.length);
    },
    // On incompressible bytes (the usual 'auto' sample: MatrixOne objects are LZ4 already) the
    // WASM context is ~2.5x faster than the binding (64 KiB: ~100 vs ~250 us) and builds no frame
    // in JS memory; on compressible bytes the binding is ~2x faster. So the size comes from
    // whichever the last sample favoured: the binding after one that shrank by 10%, else WASM
    // (both measure the same bytes at the same level; their frames differ by a few bytes).
    compressedSize(data, level) {
      if (data.length < NATIVE_FROM) return small.compressedSize(data, level);
      let size: number;
      if (sampleShrank) {
        const frame = encode(data, level);
        size = frame.length + (contentSizeAt(frame, data.length) < 0 ? 0 : 4);
      } else size = small.compressedSize(data, level);
      sampleShrank = size < data.length * 0.9;
      return size;
    },
    // the same choice for a whole chunk: after one that did not shrink, WASM, which copies out
    // no frame for an incompressible chunk (and its frame, when there is one, is as valid)
    compressBelow(data, level, limit) {
      if (data.length < NATIVE_FROM) return small.compressBelow(data, level, limit);
      const frame = sampleShrank ? this.compress(data, level) : small.compressBelow(data, level, limit);
      sampleShrank = frame !== undefined && frame.length < data.length * 0.9;
      return frame !== undefined && frame.length < limit ? frame : undefined;
    },
  };
}

/** The WASM build's heap and exports, for compressing between buffers kept in that heap. */
interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _ZSTD_compressBound(size: number): number;
  _ZSTD_isError(code: number): number;
  _ZSTD_compress_usingDict(cctx: number, dst: number, cap: number, src: number, size: number, dict: number, dictSize: number, level: number): number;
}

/**
 * The instance `init()` fills (the package's dist/common/module.js, the one its functions use);
 * undefined where it cannot be found, and `compressUsingDict` (a copy in and out per call) is used.
 */
function wasmModule(): WasmModule | undefined {
  try {
    const req = createRequire(import.meta.url);
    const m = (req(path.join(path.dirname(req.resolve('@bokuweb/zstd-wasm')), 'module.js')) as { Module?: WasmModule }).Module;
    return typeof m?._ZSTD_compress_usingDict === 'function' && m.HEAPU8 instanceof Uint8Array ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One WASM compression context per thread, reused: ZSTD_compress builds and clears a fresh
 * context on every call, which for a 64 KiB 'auto' sample costs about as much as compressing it.
 * With no dictionary (size 0), ZSTD_compress_usingDict is what ZSTD_compress runs
 * (zstd_compress.c: ZSTD_compressCCtx), so the frames are byte-identical.
 * The input and output buffers in the WASM heap are kept too, grown as needed: a size or a frame
 * not kept costs no malloc and no copy out (compressUsingDict does both on every call).
 */
function wasmEncoder(copyPerCall = false): ZstdEncoder {
  let cctx: number | undefined;
  const noDict = new Uint8Array(0);
  const m = copyPerCall ? undefined : wasmModule();
  const buf = { src: 0, srcCap: 0, dst: 0, dstCap: 0 };
  /** Compresses `data` into buf.dst; returns the frame's length. */
  const run = (mod: WasmModule, data: Uint8Array, level: number): number => {
    cctx ??= createCCtx();
    const bound = mod._ZSTD_compressBound(data.length);
    if (data.length > buf.srcCap) {
      if (buf.src) mod._free(buf.src);
      buf.srcCap = Math.max(data.length, 64 * 1024);
      buf.src = mod._malloc(buf.srcCap);
    }
    if (bound > buf.dstCap) {
      if (buf.dst) mod._free(buf.dst);
      buf.dstCap = Math.max(bound, mod._ZSTD_compressBound(64 * 1024));
      buf.dst = mod._malloc(buf.dstCap);
    }
    mod.HEAPU8.set(data, buf.src);
    const n = mod._ZSTD_compress_usingDict(cctx, buf.dst, buf.dstCap, buf.src, data.length, 0, 0, level);
    if (mod._ZSTD_isError(n)) throw new Error(`zstd compression failed (code ${n})`);
    return n;
  };
  const enc: ZstdEncoder = {
    backend: 'wasm',
    compress(data, level) {
      zstdFramesBuilt.count++;
      if (!m) return compressUsingDict((cctx ??= createCCtx()), data, noDict, level);
      const n = run(m, data, level);
      return m.HEAPU8.slice(buf.dst, buf.dst + n);
    },
    compressedSize(data, level) {
      return m ? run(m, data, level) : this.compress(data, level).length;
    },
    compressBelow(data, level, limit) {
      if (!m) {
        const frame = this.compress(data, level);
        return frame.length < limit ? frame : undefined;
      }
      const n = run(m, data, level);
      if (n >= limit) return undefined;
      zstdFramesBuilt.count++;
      return m.HEAPU8.slice(buf.dst, buf.dst + n);
    },
  };
  return enc;
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
 * back into the input, or whose header lacks the size, is not used. `copyPerCall`: the WASM
 * encoder as where its heap cannot be reached (compressUsingDict per call; for tests).
 */
export async function createZstd(o: { prefer?: ZstdBackend; load?: NativeZstdLoader; copyPerCall?: boolean } = {}): Promise<ZstdEncoder> {
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
  return wasmEncoder(o.copyPerCall);
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

export function zstdCompressedSize(data: Uint8Array, level: number): number {
  return encoder().compressedSize(data, level);
}

/** The frame of `data`, or undefined when it would not be shorter than `limit` (none copied out). */
export function zstdCompressBelow(data: Uint8Array, level: number, limit: number): Uint8Array | undefined {
  return encoder().compressBelow(data, level, limit);
}

/**
 * Decodes one frame expected to hold `rawLength` bytes; throws if it does not decode. A frame
 * without a content size decodes into `rawLength` bytes of room (the WASM default is 1 MiB).
 */
export function zstdDecompress(frame: Uint8Array, rawLength: number): Uint8Array {
  if (!wasmLoaded) throw new Error('zstdDecoderReady() was not awaited');
  return wasmDecompress(frame, { defaultHeapSize: Math.max(1, rawLength) });
}
