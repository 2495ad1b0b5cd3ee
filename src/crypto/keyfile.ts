/**
 * Key files (spec/encryption.md "Key files"): the repository's master key wrapped with a password,
 * one object per password under `keys/<id>`, id = hex SHA-256 of the object's bytes. They and
 * `locks/` are the only objects of an encrypted repository not sealed with the master key.
 *
 * A key file is one line of JSON (UTF-8, fields in this order, no white space):
 *   {"v":1,"created":<ISO-8601 UTC>,"host":…,"user":…,"keySet":<32 hex>,
 *    "kdf":{"name":"scrypt","n":…,"r":…,"p":…,"salt":<base64, 32 B>},
 *    "cipher":"aes-256-gcm","nonce":<base64, 12 B>,"data":<base64, 112 B + 16 B tag>}
 * KEK = scrypt(password, salt, 32 bytes, n, r, p); data = AES-256-GCM(KEK, nonce,
 * id (16) | data (32) | ids (32) | chunker (32), associated data "mobr-key-v1:" + keySet).
 * Nothing secret is in the clear: the key-set id, when and where the file was made, and the KDF's
 * parameters are not secret. A wrong password costs exactly one KDF run per key file.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from 'node:crypto';
import * as os from 'node:os';
import { MobrError, isMobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import type { MasterKey } from './master.js';
import { newMasterKey } from './master.js';

/** The store operations key files need (src/store/store.ts's Store has them). */
export interface KeyObjects {
  readonly location: string;
  get(key: string): Promise<Uint8Array>;
  put(key: string, data: Uint8Array, options?: { ifNoneMatch?: boolean }): Promise<void>;
  list(prefix: string): AsyncIterable<{ key: string }>;
  delete(key: string): Promise<void>;
}

export interface KdfParams {
  name: 'scrypt';
  /** CPU/memory cost, a power of two; memory is 128·n·r bytes. */
  n: number;
  r: number;
  p: number;
}

/** About 0.8 s of CPU and 128 MiB here (spec/encryption.md "Key files": the measurement). */
export const DEFAULT_KDF: KdfParams = { name: 'scrypt', n: 1 << 17, r: 8, p: 1 };
/** What a key file may ask of us (an attacker's key file must not eat the machine): 1 GiB, p <= 16. */
const MAX_KDF_MEMORY = 1 << 30;
/** The least a user may choose for a new key file (--repo_kdf); tests lower it with MOBR_TEST_KDF. */
export const MIN_NEW_KDF_N = 1 << 14;

export const KEYS_PREFIX = 'keys';
const VERSION = 1;
const CIPHER = 'aes-256-gcm';
const PLAIN_LENGTH = 16 + 32 * 3;
const TAG_LENGTH = 16;

export interface KeyFileInfo {
  /** 64 hex: SHA-256 of the key file's bytes; its object is keys/<id>. */
  id: string;
  keySet: string;
  created: string;
  host: string;
  user: string;
  kdf: KdfParams;
}

interface KeyFileJson extends Omit<KeyFileInfo, 'id' | 'kdf'> {
  v: number;
  kdf: KdfParams & { salt: string };
  cipher: string;
  nonce: string;
  data: string;
}

let kdfRuns = 0;
/** How many KDF runs this process made (tests: a wrong password costs one per key file). */
export function kdfRunCount(): number {
  return kdfRuns;
}

export function checkKdf(k: KdfParams, what: string): void {
  const whole = k && [k.n, k.r, k.p].every((x) => Number.isSafeInteger(x) && x >= 1);
  const ok = whole && k.name === 'scrypt' && k.n >= 2 && (k.n & (k.n - 1)) === 0 && k.p <= 16 && 128 * k.n * k.r <= MAX_KDF_MEMORY;
  if (!ok) {
    const want = 'scrypt, n a power of two, 128·n·r at most 1 GiB, p at most 16';
    throw new MobrError('CORRUPT', `${what}: unsupported key derivation ${JSON.stringify(k).slice(0, 120)} (${want})`);
  }
}

/** scrypt in libuv's thread pool (Ctrl-C stays responsive). */
async function deriveKek(password: Uint8Array, salt: Uint8Array, k: KdfParams): Promise<Buffer> {
  kdfRuns++;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: k.n, r: k.r, p: k.p, maxmem: 128 * k.n * k.r + 2 * 1024 * 1024 * k.p }, (e, key) => (e ? reject(e) : resolve(key))),
  );
}

const ad = (keySet: string) => Buffer.from(`mobr-key-v1:${keySet}`, 'ascii');

export interface KeyFileOptions {
  kdf?: KdfParams;
  /** Golden vectors fix these; otherwise random / now / this machine. */
  salt?: Uint8Array;
  nonce?: Uint8Array;
  created?: Date;
  host?: string;
  user?: string;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

/** The bytes of a key file wrapping `master` with `password` (see the file comment). */
export async function encodeKeyFile(master: MasterKey, password: Uint8Array, o: KeyFileOptions = {}): Promise<Uint8Array> {
  if (password.length === 0) throw new MobrError('BAD_INPUT', 'the repository password is empty');
  const kdf = o.kdf ?? DEFAULT_KDF;
  checkKdf(kdf, 'new key file');
  const salt = o.salt ?? randomBytes(32);
  const nonce = o.nonce ?? randomBytes(12);
  const kek = await deriveKek(password, salt, kdf);
  const plain = Buffer.concat([Buffer.from(master.id, 'hex'), master.data, master.ids, master.chunker]);
  if (plain.length !== PLAIN_LENGTH || !/^[0-9a-f]{32}$/.test(master.id)) throw new MobrError('BAD_INPUT', 'not a master key');
  const c = createCipheriv(CIPHER, kek, nonce, { authTagLength: TAG_LENGTH });
  c.setAAD(ad(master.id));
  const data = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  const json: KeyFileJson = {
    v: VERSION,
    created: (o.created ?? new Date(systemClock.now())).toISOString(),
    host: o.host ?? os.hostname(),
    user: o.user ?? currentUser(),
    keySet: master.id,
    kdf: { name: kdf.name, n: kdf.n, r: kdf.r, p: kdf.p, salt: Buffer.from(salt).toString('base64') },
    cipher: CIPHER,
    nonce: Buffer.from(nonce).toString('base64'),
    data: data.toString('base64'),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** A key file's id: hex SHA-256 of its bytes. */
export function keyFileId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const b64 = (s: unknown, len: number): Buffer | undefined => {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.length === len ? b : undefined;
};

/** Parses a key file's clear part; CORRUPT when it is no key file of this version. */
export function parseKeyFile(bytes: Uint8Array, what: string): KeyFileInfo & { salt: Buffer; nonce: Buffer; data: Buffer } {
  let j: KeyFileJson;
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as KeyFileJson;
  } catch {
    throw new MobrError('CORRUPT', `${what}: not a key file (not JSON)`);
  }
  if (j?.v !== VERSION) {
    const newer = typeof j?.v === 'number' && j.v > VERSION;
    throw new MobrError(newer ? 'REPO_VERSION' : 'CORRUPT', `${what}: key file version ${String(j?.v)}; this mobr reads ${VERSION}`);
  }
  checkKdf(j.kdf, what);
  const salt = b64(j.kdf.salt, 32);
  const nonce = b64(j.nonce, 12);
  const data = b64(j.data, PLAIN_LENGTH + TAG_LENGTH);
  const keySetOk = typeof j.keySet === 'string' && /^[0-9a-f]{32}$/.test(j.keySet);
  if (!salt || !nonce || !data || j.cipher !== CIPHER || !keySetOk) throw new MobrError('CORRUPT', `${what}: damaged key file`);
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const kdf: KdfParams = { name: 'scrypt', n: j.kdf.n, r: j.kdf.r, p: j.kdf.p };
  return { id: keyFileId(bytes), keySet: j.keySet, created: text(j.created), host: text(j.host), user: text(j.user), kdf, salt, nonce, data };
}

/** The master key a key file wraps, or undefined when the password does not open it (one KDF run). */
export async function openKeyFile(bytes: Uint8Array, password: Uint8Array, what = 'key file'): Promise<MasterKey | undefined> {
  const k = parseKeyFile(bytes, what);
  const kek = await deriveKek(password, k.salt, k.kdf);
  const d = createDecipheriv(CIPHER, kek, k.nonce, { authTagLength: TAG_LENGTH });
  d.setAAD(ad(k.keySet));
  d.setAuthTag(k.data.subarray(PLAIN_LENGTH));
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(k.data.subarray(0, PLAIN_LENGTH)), d.final()]);
  } catch {
    return undefined;
  }
  const id = plain.subarray(0, 16).toString('hex');
  if (id !== k.keySet) return undefined;
  const part = (i: number) => new Uint8Array(plain.subarray(16 + 32 * i, 48 + 32 * i));
  return { id, data: part(0), ids: part(1), chunker: part(2) };
}

const keyPath = (id: string) => `${KEYS_PREFIX}/${id}`;

/** Writes a new key file for master under password; returns its id. */
export async function addKey(store: KeyObjects, master: MasterKey, password: Uint8Array, o: KeyFileOptions = {}): Promise<string> {
  const bytes = await encodeKeyFile(master, password, o);
  const id = keyFileId(bytes);
  await store.put(keyPath(id), bytes, { ifNoneMatch: true });
  return id;
}

/** A new random master key and its first key file (the caller then writes the config). */
export async function initKeys(store: KeyObjects, password: Uint8Array, o: KeyFileOptions = {}): Promise<MasterKey> {
  const master = newMasterKey();
  await addKey(store, master, password, o);
  return master;
}

/** The ids of the key files in the store (names that are no key file id are ignored). */
export async function keyFileIds(store: KeyObjects): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of store.list(KEYS_PREFIX)) {
    const m = /^keys\/([0-9a-f]{64})$/.exec(e.key);
    if (m) ids.push(m[1]);
  }
  return ids.sort();
}

/** Whether the store holds at least one key file (the repository is encrypted). */
export async function hasKeyFiles(store: KeyObjects): Promise<boolean> {
  return (await keyFileIds(store)).length > 0;
}

async function readKeyFile(store: KeyObjects, id: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = await store.get(keyPath(id));
    return keyFileId(bytes) === id ? bytes : undefined; // damaged: not worth a KDF run
  } catch (e) {
    if (isMobrError(e, 'NOT_FOUND')) return undefined; // removed meanwhile
    throw e;
  }
}

/**
 * The master key and the id of the key file the password opened. Tries each key file once (one
 * KDF run each; `keySet`, when given, skips key files of another key set without a run).
 * WRONG_PASSWORD when none opens; NO_KEYS when there is no key file at all.
 */
export async function unlockKey(store: KeyObjects, password: Uint8Array, keySet?: string): Promise<{ master: MasterKey; keyId: string }> {
  const ids = await keyFileIds(store);
  if (ids.length === 0) throw new MobrError('NOT_FOUND', `${store.location} has no key files (keys/ is empty): the repository cannot be decrypted`);
  let readable = 0;
  for (const id of ids) {
    const bytes = await readKeyFile(store, id);
    if (!bytes) continue;
    let info: KeyFileInfo;
    try {
      info = parseKeyFile(bytes, `key file ${id.slice(0, 8)}`);
    } catch (e) {
      if (isMobrError(e, 'CORRUPT')) continue;
      throw e;
    }
    readable++;
    if (keySet !== undefined && info.keySet !== keySet) continue;
    const master = await openKeyFile(bytes, password);
    if (master) return { master, keyId: id };
  }
  const files = (n: number, what = 'key file') => `${n} ${what}${n === 1 ? '' : 's'}`;
  const tried = readable === ids.length ? files(ids.length) : `${files(readable, 'readable key file')} of ${ids.length}`;
  throw new MobrError('WRONG_PASSWORD', `wrong repository password for ${store.location}: it opens none of its ${tried}`);
}

export async function unlockKeys(store: KeyObjects, password: Uint8Array): Promise<MasterKey> {
  return (await unlockKey(store, password)).master;
}

/** Every key file's clear part (damaged ones named as such), oldest first. */
export async function listKeys(store: KeyObjects): Promise<(KeyFileInfo & { damaged?: string })[]> {
  const out: (KeyFileInfo & { damaged?: string })[] = [];
  for (const id of await keyFileIds(store)) {
    const bytes = await readKeyFile(store, id);
    if (!bytes) {
      out.push({ id, keySet: '', created: '', host: '', user: '', kdf: DEFAULT_KDF, damaged: 'its bytes do not hash to its name' });
      continue;
    }
    try {
      const { salt: _s, nonce: _n, data: _d, ...info } = parseKeyFile(bytes, `key file ${id.slice(0, 8)}`);
      out.push(info);
    } catch (e) {
      if (!isMobrError(e)) throw e;
      out.push({ id, keySet: '', created: '', host: '', user: '', kdf: DEFAULT_KDF, damaged: e.message });
    }
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/**
 * The one key file whose id starts with `prefix` (at least 4 hex characters); BAD_INPUT when none
 * or several match.
 */
export async function findKeyFile(store: KeyObjects, prefix: string): Promise<string> {
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
    throw new MobrError('BAD_INPUT', `bad key id ${JSON.stringify(prefix.slice(0, 70))}: give at least 4 of its hex characters (see key list)`);
  }
  const hits = (await keyFileIds(store)).filter((id) => id.startsWith(prefix));
  if (hits.length === 0) throw new MobrError('NOT_FOUND', `no key ${prefix} in ${store.location} (see key list)`);
  if (hits.length > 1) throw new MobrError('BAD_INPUT', `key id ${prefix} is ambiguous in ${store.location}: ${hits.map((h) => h.slice(0, 12)).join(', ')}`);
  return hits[0];
}

/**
 * Removes key file `id`; refused when it is the key the caller unlocked with (`current`, as restic
 * does: use key passwd, or unlock with another key) or the last key file of the repository.
 * The caller holds the repository's exclusive lock, so two removals cannot race to zero keys;
 * `fence` proves it still held right before the deletion (src/repo/key-change.ts).
 */
export async function removeKey(store: KeyObjects, id: string, current: string, fence?: () => Promise<void>): Promise<void> {
  const ids = await keyFileIds(store);
  if (!ids.includes(id)) throw new MobrError('NOT_FOUND', `no key ${id.slice(0, 8)} in ${store.location} (see key list)`);
  const key = `key ${id.slice(0, 8)}`;
  if (ids.length === 1) {
    const why = 'removing it would make the repository unreadable; add another first (key add)';
    throw new MobrError('BAD_INPUT', `${key} is the last key of ${store.location}: ${why}`);
  }
  if (id === current) {
    throw new MobrError('BAD_INPUT', `${key} is the one this command unlocked with: give another key's password to remove it, or use key passwd`);
  }
  await fence?.();
  await store.delete(keyPath(id));
}
