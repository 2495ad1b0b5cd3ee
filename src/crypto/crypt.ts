/**
 * The sealing of an encrypted repository (spec/encryption.md §2–§5), made from its master key:
 *  - boxes: AES-256-GCM under a key derived per box from a 24-byte random nonce (§2);
 *  - chunk ids: BLAKE3-256 in keyed mode (§4);
 *  - the secret gear table of the chunker (§5).
 * One Crypt per repository and thread; nothing here is ever logged or put in an error message.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { keyedBlake3, type Blake3 } from '../hash/blake3.js';
import { gearFromSeed } from '../chunk/gear.js';
import type { MasterKey } from './master.js';

/** A box: nonce (24) | ciphertext (as long as the plaintext) | GCM tag (16). */
export const NONCE = 24;
export const TAG = 16;
export const BOX_OVERHEAD = NONCE + TAG;
/** What a box's key is derived under (keyed BLAKE3 of this and the nonce's first 12 bytes). */
const DERIVE = Buffer.from('mobr-aead-v1', 'ascii');
export const AEAD = 'aes-256-gcm';
/**
 * GCM is fed this much at a time when sealing (the box's bytes are the same however it is fed).
 * Each `update` returns a new zero-filled buffer: for a whole chunk (~1 MiB, up to 4 MiB) that was
 * fresh pages every box, then a copy out of cache; 64 KiB pieces reuse warm heap memory. Sealing
 * ~1 GB of chunks took 1.6–1.8 CPU-s whole and 0.65–1.0 in pieces, with a third of the page faults
 * (at load 17). Opening stays whole: the plain chunk needs a buffer of its own anyway.
 */
const PIECE = 64 * 1024;

/** Runs `data` through a cipher piece by piece, into out[at, at + data.length). */
function pump(c: { update(b: Uint8Array): Buffer }, data: Uint8Array, out: Uint8Array, at: number): void {
  for (let i = 0; i < data.length; i += PIECE) {
    const piece = c.update(data.subarray(i, Math.min(data.length, i + PIECE)));
    if (piece.length !== Math.min(PIECE, data.length - i)) throw new Error('GCM output out of step');
    out.set(piece, at + i);
  }
}

/** The reason a box does not open: damaged, moved (other associated data) or another key. */
export class OpenError extends Error {}

/** Random nonces, drawn from a pool refilled 4 KiB at a time (one syscall per ~170 boxes). */
class NoncePool {
  private pool = Buffer.alloc(0);
  private at = 0;
  take(): Buffer {
    if (this.at + NONCE > this.pool.length) {
      this.pool = randomFillSync(Buffer.allocUnsafe(4096));
      this.at = 0;
    }
    const n = this.pool.subarray(this.at, this.at + NONCE);
    this.at += NONCE;
    return n;
  }
}

export class Crypt {
  private readonly nonces = new NoncePool();

  private constructor(
    /** The key-set id (not secret): which master key seals this repository's objects. */
    readonly keySet: string,
    private readonly derive: Blake3,
    private readonly ids: Blake3,
    /** The secret gear table (spec/encryption.md §5). */
    readonly gear: Int32Array,
    /** The master key itself, for the worker tasks that need it (never logged). */
    readonly master: MasterKey,
  ) {}

  static async create(m: MasterKey): Promise<Crypt> {
    if (!/^[0-9a-f]{32}$/.test(m.id) || m.data.length !== 32 || m.ids.length !== 32 || m.chunker.length !== 32) throw new Error('malformed master key');
    const master = { id: m.id, data: new Uint8Array(m.data), ids: new Uint8Array(m.ids), chunker: new Uint8Array(m.chunker) };
    return new Crypt(m.id, await keyedBlake3(master.data), await keyedBlake3(master.ids), gearFromSeed(master.chunker), master);
  }

  /** A chunk's id: BLAKE3-256 of its plain bytes, keyed with the master key's id key. */
  chunkId(plain: Uint8Array): Uint8Array {
    return this.ids.hash(plain);
  }

  private key(nonce: Uint8Array): Uint8Array {
    return this.derive.hash(DERIVE, nonce.subarray(0, 12));
  }

  /** Seals `plain` into a new box bound to `aad` (`nonce`: only for golden vectors; never reuse one). */
  seal(aad: Uint8Array, plain: Uint8Array, nonce?: Uint8Array): Uint8Array {
    const out = new Uint8Array(plain.length + BOX_OVERHEAD);
    this.sealInto(out, 0, aad, plain, nonce);
    return out;
  }

  /** Seals `plain` into out[at, at + plain.length + BOX_OVERHEAD); returns that length. */
  sealInto(out: Uint8Array, at: number, aad: Uint8Array, plain: Uint8Array, fixed?: Uint8Array): number {
    const nonce = fixed ?? this.nonces.take();
    if (nonce.length !== NONCE) throw new Error('a nonce is 24 bytes');
    const c = createCipheriv(AEAD, this.key(nonce), nonce.subarray(12), { authTagLength: TAG });
    c.setAAD(aad);
    out.set(nonce, at);
    pump(c, plain, out, at + NONCE);
    const tail = c.final();
    if (tail.length > 0) throw new Error('GCM left bytes over');
    out.set(c.getAuthTag(), at + NONCE + plain.length);
    return plain.length + BOX_OVERHEAD;
  }

  /** Opens a box bound to `aad`; throws OpenError when it is damaged, moved or not ours. */
  open(aad: Uint8Array, box: Uint8Array): Uint8Array {
    if (box.length < BOX_OVERHEAD) throw new OpenError('too short to be sealed');
    const nonce = box.subarray(0, NONCE);
    const end = box.length - TAG;
    try {
      const d = createDecipheriv(AEAD, this.key(nonce), nonce.subarray(12), { authTagLength: TAG });
      d.setAAD(aad);
      d.setAuthTag(box.subarray(end));
      const plain = d.update(box.subarray(NONCE, end));
      d.final();
      // a buffer of its own (never a view into a pool), so a worker may hand it over
      return plain.byteOffset === 0 && plain.buffer.byteLength === plain.length ? new Uint8Array(plain.buffer) : new Uint8Array(plain);
    } catch {
      throw new OpenError('authentication failed (damaged, moved, or sealed with another key)');
    }
  }
}

/** Associated data of a pack blob: its chunk id (spec/encryption.md §3.1). */
export function blobAad(id: Uint8Array): Uint8Array {
  const a = new Uint8Array(BLOB_AAD.length + 32);
  a.set(BLOB_AAD, 0);
  a.set(id, BLOB_AAD.length);
  return a;
}
const BLOB_AAD = Buffer.from('mobr-blob-v1', 'ascii');
/** Associated data of a pack header (spec/encryption.md §3.2). */
export const HEADER_AAD: Uint8Array = Buffer.from('mobr-pack-header-v1', 'ascii');

/** One Crypt per master key in this thread (worker tasks carry the key; it is derived once). */
const made = new Map<string, { m: MasterKey; c: Promise<Crypt> }>();
export function cryptFor(m: MasterKey): Promise<Crypt> {
  const e = made.get(m.id);
  if (e && same(e.m, m)) return e.c;
  const c = Crypt.create(m);
  made.set(m.id, { m, c });
  return c;
}
const same = (a: MasterKey, b: MasterKey) =>
  Buffer.compare(a.data, b.data) === 0 && Buffer.compare(a.ids, b.ids) === 0 && Buffer.compare(a.chunker, b.chunker) === 0;
