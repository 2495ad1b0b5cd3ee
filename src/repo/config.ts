/** The repository config object `config` (spec/repository.md §3.1): written once, never changed. */
import { randomBytes } from 'node:crypto';
import { MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { DEFAULT_CHUNKER, validateChunker, type ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import { seal, unseal } from './sealed.js';

export interface RepoConfig {
  version: 1;
  id: string;
  createdAt: number;
  chunker: ChunkerParams & { algorithm: 'fastcdc-mobr-v1' };
  hash: 'blake3-256';
  packSize: number;
  compression: CompressionPolicy;
}

export interface RepoOptions {
  chunker?: ChunkerParams;
  packSize?: number;
  compression?: CompressionPolicy;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export function newConfig(o: RepoOptions = {}): RepoConfig {
  const chunker = o.chunker ?? DEFAULT_CHUNKER;
  validateChunker(chunker);
  const packSize = o.packSize ?? DEFAULT_PACK_SIZE;
  if (!Number.isSafeInteger(packSize) || packSize < 1024 || packSize > 1 << 30) throw new MobrError('BAD_INPUT', `bad pack size ${packSize}`);
  return {
    version: 1,
    id: randomBytes(16).toString('hex'),
    createdAt: systemClock.now(),
    chunker: { algorithm: 'fastcdc-mobr-v1', min: chunker.min, avg: chunker.avg, max: chunker.max },
    hash: 'blake3-256',
    packSize,
    compression: o.compression ?? 'auto',
  };
}

export function encodeConfig(c: RepoConfig): Uint8Array {
  return seal('C', 1, c);
}

export function decodeConfig(data: Uint8Array, what: string): RepoConfig {
  const { body } = unseal('C', 1, data, what);
  const c = body as RepoConfig;
  if (!c || c.hash !== 'blake3-256' || c.chunker?.algorithm !== 'fastcdc-mobr-v1' || !Number.isSafeInteger(c.packSize)) {
    throw new MobrError('CORRUPT', `${what}: unsupported repository config`);
  }
  validateChunker(c.chunker);
  return c;
}
