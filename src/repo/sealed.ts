/**
 * The sealed-object envelope used by config, index, manifest, plan and part objects (spec/repository.md §3):
 *   magic "MOBR" (4) | kind (1 byte ASCII) | format version (1) | msgpack body | BLAKE3-256 of all
 *   preceding bytes (32).
 * Any flipped, missing or extra byte fails the trailing hash; the body is decoded only after.
 */
import { decode, encode } from '@msgpack/msgpack';
import { MobrError, type ErrorCode } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { equalBytes } from '../util/bytes.js';

const MAGIC = [0x4d, 0x4f, 0x42, 0x52]; // "MOBR"
const HEAD = 6;
const TAIL = 32;

/** config, index, manifest, and a shared backup's plan and share parts (spec/repository.md §10). */
export type SealedKind = 'C' | 'I' | 'M' | 'P' | 'S';

const CORRUPT_CODE: Record<SealedKind, ErrorCode> = { C: 'CORRUPT', I: 'CORRUPT_INDEX', M: 'CORRUPT_MANIFEST', P: 'CORRUPT', S: 'CORRUPT' };
const KIND_NAME: Record<SealedKind, string> = { C: 'config', I: 'index', M: 'manifest', P: 'backup plan', S: 'backup part' };

export function seal(kind: SealedKind, version: number, body: unknown): Uint8Array {
  const payload = encode(body, { ignoreUndefined: true });
  const out = new Uint8Array(HEAD + payload.length + TAIL);
  out.set(MAGIC, 0);
  out[4] = kind.charCodeAt(0);
  out[5] = version;
  out.set(payload, HEAD);
  out.set(blake3(out.subarray(0, HEAD + payload.length)), HEAD + payload.length);
  return out;
}

/** Checks and opens an envelope; throws CORRUPT_* naming `what` on any damage. */
export function unseal(kind: SealedKind, maxVersion: number, data: Uint8Array, what: string): { version: number; body: unknown } {
  const code = CORRUPT_CODE[kind];
  if (data.length < HEAD + TAIL || MAGIC.some((b, i) => data[i] !== b) || data[4] !== kind.charCodeAt(0)) {
    throw new MobrError(code, `${what}: not a mobr ${kindName(kind)} object`);
  }
  const end = data.length - TAIL;
  const want = data.subarray(end);
  const got = blake3(data.subarray(0, end));
  if (!equalBytes(want, got)) throw new MobrError(code, `${what}: checksum mismatch (damaged)`);
  const version = data[5];
  if (version > maxVersion) throw new MobrError('REPO_VERSION', `${what}: written by a newer mobr (format ${version})`);
  try {
    return { version, body: decode(data.subarray(HEAD, end)) };
  } catch (e) {
    throw new MobrError(code, `${what}: body does not decode`, { cause: e });
  }
}

function kindName(k: SealedKind): string {
  return KIND_NAME[k];
}


/** Schema helpers for decoded bodies: throw the given code with a one-line reason. */
export function expect<T>(ok: boolean, code: ErrorCode, what: string, value: T): T {
  if (!ok) throw new MobrError(code, `${what}: malformed`);
  return value;
}
