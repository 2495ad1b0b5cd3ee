/**
 * The repository config object `config` (spec/repository.md §3.1): written once, never changed.
 * An encrypted repository's (spec/encryption.md §7) is sealed and says so: `encryption`, keyed
 * chunk ids (`hash`) and a secret gear table (`chunker.algorithm`).
 */
import { randomBytes } from 'node:crypto';
import { MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { DEFAULT_CHUNKER, validateChunker, type ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import { seal, unseal, type Sealing } from './sealed.js';

export interface RepoConfig {
  version: 1;
  id: string;
  createdAt: number;
  chunker: ChunkerParams & { algorithm: ChunkerAlgorithm };
  hash: 'blake3-256' | 'blake3-256-keyed';
  packSize: number;
  compression: CompressionPolicy;
  /** Only in an encrypted repository: the AEAD every object but key files and locks is sealed with. */
  encryption?: 'aes-256-gcm';
}

/** The plain chunker; `-keyed` is the same cut rule over the repository's secret gear table. */
type ChunkerAlgorithm = 'fastcdc-mobr-v1' | 'fastcdc-mobr-v1-keyed';

export interface RepoOptions {
  chunker?: ChunkerParams;
  packSize?: number;
  compression?: CompressionPolicy;
}

const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export function newConfig(o: RepoOptions = {}, encrypted = false): RepoConfig {
  const chunker = o.chunker ?? DEFAULT_CHUNKER;
  validateChunker(chunker);
  const packSize = o.packSize ?? DEFAULT_PACK_SIZE;
  if (!Number.isSafeInteger(packSize) || packSize < 1024 || packSize > 1 << 30) throw new MobrError('BAD_INPUT', `bad pack size ${packSize}`);
  return {
    version: 1,
    id: randomBytes(16).toString('hex'),
    createdAt: systemClock.now(),
    chunker: { algorithm: encrypted ? 'fastcdc-mobr-v1-keyed' : 'fastcdc-mobr-v1', min: chunker.min, avg: chunker.avg, max: chunker.max },
    hash: encrypted ? 'blake3-256-keyed' : 'blake3-256',
    packSize,
    compression: o.compression ?? 'auto',
    encryption: encrypted ? 'aes-256-gcm' : undefined,
  };
}

export function encodeConfig(c: RepoConfig, sealing?: Sealing): Uint8Array {
  return seal('C', 1, c, sealing);
}

export function decodeConfig(data: Uint8Array, what: string, sealing?: Sealing): RepoConfig {
  const { body } = unseal('C', 1, data, what, sealing);
  const c = body as RepoConfig;
  const sealed = !!sealing;
  const plain = c?.hash === 'blake3-256' && c.chunker?.algorithm === 'fastcdc-mobr-v1' && c.encryption === undefined;
  const keyed = c?.hash === 'blake3-256-keyed' && c.chunker?.algorithm === 'fastcdc-mobr-v1-keyed' && c.encryption === 'aes-256-gcm';
  if (!c || !(sealed ? keyed : plain) || !Number.isSafeInteger(c.packSize)) {
    throw new MobrError('CORRUPT', `${what}: unsupported repository config`);
  }
  validateChunker(c.chunker);
  return c;
}
