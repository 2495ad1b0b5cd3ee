/**
 * Per-chunk compression codecs (spec/repository.md §5.2). Codec ids are part of the format:
 *   0 = none (stored as is), 1 = zstd (a single zstd frame).
 * A chunk under 512 bytes is stored as is under every policy, as is one zstd does not shrink.
 * Policy 'auto' (the default) first tries a chunk over 128 KiB on its first 64 KiB (zstd level 1)
 * and stores it as is when that sample does not shrink by at least 3%: MatrixOne object files
 * are mostly LZ4-compressed already, and zstd on incompressible bytes costs ~200 MB/s for nothing.
 * zstd comes from zstd.ts: a native binding, or WASM where none loads; frames are plain either way.
 */
import { zstdCompressBelow, zstdCompressedSize, zstdDecoderReady, zstdDecompress, zstdReady } from './zstd.js';
import { MobrError } from '../errors.js';

export const CODEC_NONE = 0;
export const CODEC_ZSTD = 1;
type Codec = typeof CODEC_NONE | typeof CODEC_ZSTD;
export type CompressionPolicy = 'none' | 'zstd' | 'auto';

const SAMPLE = 64 * 1024;
const LEVEL = 3;

export function codecReady(): Promise<void> {
  return zstdReady();
}

/**
 * Readies `decodeChunk` for chunks stored with these codecs: nothing to load when none is zstd
 * (incompressible data, as MatrixOne's LZ4-compressed objects mostly are), else the decoder alone.
 */
export function decoderReady(codecs: readonly number[]): Promise<void> {
  return codecs.includes(CODEC_ZSTD) ? zstdDecoderReady() : Promise.resolve();
}

/** Encodes a chunk under a policy; returns the stored bytes and the codec used. */
export function encodeChunk(plain: Uint8Array, policy: CompressionPolicy): { stored: Uint8Array; codec: Codec } {
  if (policy === 'none' || plain.length < 512) return { stored: plain, codec: CODEC_NONE };
  if (policy === 'auto' && plain.length > SAMPLE * 2) {
    if (zstdCompressedSize(plain.subarray(0, SAMPLE), 1) > SAMPLE * 0.97) return { stored: plain, codec: CODEC_NONE };
  }
  const z = zstdCompressBelow(plain, LEVEL, plain.length);
  return z ? { stored: z, codec: CODEC_ZSTD } : { stored: plain, codec: CODEC_NONE };
}

export function decodeChunk(stored: Uint8Array, codec: number, rawLength: number): Uint8Array {
  if (codec === CODEC_NONE) return stored;
  if (codec === CODEC_ZSTD) {
    let out: Uint8Array;
    try {
      out = zstdDecompress(stored, rawLength);
    } catch {
      throw new MobrError('CORRUPT', 'zstd frame does not decode');
    }
    if (out.length !== rawLength) throw new MobrError('CORRUPT', `zstd frame decodes to ${out.length} bytes, expected ${rawLength}`);
    return out;
  }
  throw new MobrError('CORRUPT', `unknown codec ${codec}`);
}
