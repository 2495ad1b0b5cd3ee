/**
 * The sealed-object envelope used by config, index, manifest, plan and part objects (spec/repository.md §3):
 *   magic "MOBR" (4) | kind (1 byte ASCII) | format version (1) | msgpack body | BLAKE3-256 of all
 *   preceding bytes (32).
 * Any flipped, missing or extra byte fails the trailing hash; the body is decoded only after.
 * In an encrypted repository (spec/encryption.md §3.3) the same objects are
 *   magic "MOBS" (4) | kind (1) | version (1) | key-set id (16) | box(msgpack body)
 * with the first 22 bytes and the object's name as the box's associated data: a flipped byte,
 * an object moved to another name, or one sealed with another key does not open.
 */
import { decode, encode } from '@msgpack/msgpack';
import { MobrError, type ErrorCode } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { equalBytes } from '../util/bytes.js';
import { OpenError, type Crypt } from '../crypto/crypt.js';

const MAGIC = [0x4d, 0x4f, 0x42, 0x52]; // "MOBR"
const SEALED_MAGIC = [0x4d, 0x4f, 0x42, 0x53]; // "MOBS"
const HEAD = 6;
const TAIL = 32;
const SEALED_HEAD = HEAD + 16;

/** How an encrypted repository's object is sealed: its key, and its name (the associated data). */
export interface Sealing {
  crypt: Crypt;
  /** `config`, `index/` (index objects are named by their own hash), `backups/<id>`, `plans/<id>`, `parts/<id>/<share>`. */
  name: string;
}

/** The key-set id an encrypted object names (spec/encryption.md §3.3), or undefined for a plain one. */
export function sealedKeySet(data: Uint8Array): string | undefined {
  if (data.length < SEALED_HEAD || SEALED_MAGIC.some((b, i) => data[i] !== b)) return undefined;
  return Buffer.from(data.subarray(HEAD, SEALED_HEAD)).toString('hex');
}

function sealedAad(head: Uint8Array, name: string): Uint8Array {
  return Buffer.concat([head, Buffer.from(name, 'utf8')]);
}

function sealEncrypted(kind: SealedKind, version: number, payload: Uint8Array, s: Sealing): Uint8Array {
  const head = new Uint8Array(SEALED_HEAD);
  head.set(SEALED_MAGIC, 0);
  head[4] = kind.charCodeAt(0);
  head[5] = version;
  head.set(Buffer.from(s.crypt.keySet, 'hex'), HEAD);
  const box = s.crypt.seal(sealedAad(head, s.name), payload);
  const out = new Uint8Array(SEALED_HEAD + box.length);
  out.set(head, 0);
  out.set(box, SEALED_HEAD);
  return out;
}

function openEncrypted(kind: SealedKind, data: Uint8Array, what: string, s: Sealing): Uint8Array {
  const code = CORRUPT_CODE[kind];
  const keySet = sealedKeySet(data);
  if (keySet === undefined) {
    const plain = MAGIC.every((b, i) => data[i] === b);
    if (plain) throw new MobrError(code, `${what}: a plain object in an encrypted repository (refused: anyone who can write the store could have made it)`);
    throw new MobrError(code, `${what}: not a mobr ${kindName(kind)} object`);
  }
  if (data[4] !== kind.charCodeAt(0)) throw new MobrError(code, `${what}: not a mobr ${kindName(kind)} object`);
  if (keySet !== s.crypt.keySet) throw new MobrError(code, `${what}: sealed with another key (key set ${keySet}), not this repository's`);
  try {
    return s.crypt.open(sealedAad(data.subarray(0, SEALED_HEAD), s.name), data.subarray(SEALED_HEAD));
  } catch (e) {
    if (e instanceof OpenError) throw new MobrError(code, `${what}: ${e.message}`);
    throw e;
  }
}

/** config, index, manifest, and a shared backup's plan and share parts (spec/repository.md §10). */
export type SealedKind = 'C' | 'I' | 'M' | 'P' | 'S';

const CORRUPT_CODE: Record<SealedKind, ErrorCode> = { C: 'CORRUPT', I: 'CORRUPT_INDEX', M: 'CORRUPT_MANIFEST', P: 'CORRUPT', S: 'CORRUPT' };
const KIND_NAME: Record<SealedKind, string> = { C: 'config', I: 'index', M: 'manifest', P: 'backup plan', S: 'backup part' };

export function seal(kind: SealedKind, version: number, body: unknown, sealing?: Sealing): Uint8Array {
  const payload = encode(body, { ignoreUndefined: true });
  const framed = new Uint8Array(HEAD + payload.length + TAIL);
  framed.set(payload, HEAD);
  return sealFramed(kind, version, framed, sealing);
}

/** The free bytes sealFramed wants before and after a payload. */
export const FRAME = { before: HEAD, after: TAIL };

/**
 * seal() for a body already encoded, lying at `framed[FRAME.before .. length - FRAME.after]`: a
 * plain envelope is made in those same bytes (no copy of a manifest of a million files).
 */
export function sealFramed(kind: SealedKind, version: number, framed: Uint8Array, sealing?: Sealing): Uint8Array {
  if (sealing) return sealEncrypted(kind, version, framed.subarray(HEAD, framed.length - TAIL), sealing);
  framed.set(MAGIC, 0);
  framed[4] = kind.charCodeAt(0);
  framed[5] = version;
  framed.set(blake3(framed.subarray(0, framed.length - TAIL)), framed.length - TAIL);
  return framed;
}

/** Checks and opens an envelope; throws CORRUPT_* naming `what` on any damage. */
export function unseal(kind: SealedKind, maxVersion: number, data: Uint8Array, what: string, sealing?: Sealing): { version: number; body: unknown } {
  const { version, payload } = openSealed(kind, maxVersion, data, what, sealing);
  try {
    return { version, body: decode(payload) };
  } catch (e) {
    throw undecodable(kind, what, e);
  }
}

/** The error for a body that does not decode. */
export function undecodable(kind: SealedKind, what: string, cause: unknown): MobrError {
  return new MobrError(CORRUPT_CODE[kind], `${what}: body does not decode`, { cause });
}

/** unseal() up to the body's bytes, not decoded (for a caller that reads them a row at a time). */
export function openSealed(kind: SealedKind, maxVersion: number, data: Uint8Array, what: string, sealing?: Sealing): { version: number; payload: Uint8Array } {
  const code = CORRUPT_CODE[kind];
  if (sealing) return checkVersion(maxVersion, data[5], openEncrypted(kind, data, what, sealing), what);
  // A plain repository holds no sealed object: "MOBS" here is one flipped bit of "MOBR", or an object
  // from somewhere else. Either way it is damage, not a missing password (the config decides that).
  if (sealedKeySet(data) !== undefined) throw new MobrError(code, `${what}: an encrypted object in a plain repository (damaged, or not this repository's)`);
  if (data.length < HEAD + TAIL || MAGIC.some((b, i) => data[i] !== b) || data[4] !== kind.charCodeAt(0)) {
    throw new MobrError(code, `${what}: not a mobr ${kindName(kind)} object`);
  }
  const end = data.length - TAIL;
  const want = data.subarray(end);
  const got = blake3(data.subarray(0, end));
  if (!equalBytes(want, got)) throw new MobrError(code, `${what}: checksum mismatch (damaged)`);
  return checkVersion(maxVersion, data[5], data.subarray(HEAD, end), what);
}

function checkVersion(maxVersion: number, version: number, payload: Uint8Array, what: string): { version: number; payload: Uint8Array } {
  if (version > maxVersion) throw new MobrError('REPO_VERSION', `${what}: written by a newer mobr (format ${version})`);
  return { version, payload };
}

function kindName(k: SealedKind): string {
  return KIND_NAME[k];
}


/** Schema helpers for decoded bodies: throw the given code with a one-line reason. */
export function expect<T>(ok: boolean, code: ErrorCode, what: string, value: T): T {
  if (!ok) throw new MobrError(code, `${what}: malformed`);
  return value;
}
