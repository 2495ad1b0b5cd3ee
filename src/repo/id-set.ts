/**
 * A set of 32-byte ids (chunk ids: BLAKE3 hashes) in one typed-array open-addressing table, for
 * gc's live set (spec/scale.md §3): 33 bytes a slot, 41–83 bytes an id, against ~130 for a Set
 * of hex strings. Ids come and go as lower-case hex strings, as in the Set it replaces.
 */
import { hexInto, toHex } from '../hash/hex.js';

const KEY = 32;

export class IdSet implements Iterable<string> {
  private keys = new Uint8Array(64 * KEY);
  private used = new Uint8Array(64);
  private n = 0;
  /** Strings that are not 64 lower-case hex digits (never an id mobr writes; kept exactly). */
  private readonly odd = new Set<string>();
  private readonly q = new Uint8Array(KEY);

  get size(): number {
    return this.n + this.odd.size;
  }

  get bytes(): number {
    return this.keys.byteLength + this.used.byteLength;
  }

  add(hex: string): this {
    if (!this.parse(hex)) this.odd.add(hex);
    else this.addId(this.q);
    return this;
  }

  /** add() for an id's 32 bytes (no hex string made: gc marks every chunk of every backup). */
  addId(id: Uint8Array): this {
    if ((this.n + 1) * 5 > this.used.length * 4) this.grow();
    const s = this.slot(this.keys, this.used, id);
    if (!this.used[s]) {
      this.used[s] = 1;
      this.keys.set(id, s * KEY);
      this.n++;
    }
    return this;
  }

  has(hex: string): boolean {
    if (!this.parse(hex)) return this.odd.has(hex);
    return this.hasId(this.q);
  }

  /** has() for an id's 32 bytes. */
  hasId(id: Uint8Array): boolean {
    return this.used[this.slot(this.keys, this.used, id)] === 1;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let s = 0; s < this.used.length; s++) if (this.used[s]) yield toHex(this.keys.subarray(s * KEY, s * KEY + KEY));
    yield* this.odd;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private slot(keys: Uint8Array, used: Uint8Array, id: Uint8Array): number {
    const mask = used.length - 1;
    for (let s = hash(id) & mask; ; s = (s + 1) & mask) {
      if (!used[s]) return s;
      let i = 0;
      while (i < KEY && keys[s * KEY + i] === id[i]) i++;
      if (i === KEY) return s;
    }
  }

  private grow(): void {
    const keys = new Uint8Array(this.keys.length * 2);
    const used = new Uint8Array(this.used.length * 2);
    for (let s = 0; s < this.used.length; s++) {
      if (!this.used[s]) continue;
      const id = this.keys.subarray(s * KEY, s * KEY + KEY);
      const t = this.slot(keys, used, id);
      used[t] = 1;
      keys.set(id, t * KEY);
    }
    this.keys = keys;
    this.used = used;
  }

  private parse(hex: string): boolean {
    return hexInto(hex, this.q);
  }
}

/** Mixes two words of the id (ids are hashes already; mixing keeps crafted ones from piling up on a prefix). */
function hash(id: Uint8Array): number {
  const a = id[0] | (id[1] << 8) | (id[2] << 16) | (id[3] << 24);
  const b = id[28] | (id[29] << 8) | (id[30] << 16) | (id[31] << 24);
  return Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> 0;
}
