/**
 * MessagePack for bodies with one long array of rows (a manifest's files), written and read a row
 * at a time (issue #22: a million files). @msgpack/msgpack makes the whole body at once: writing,
 * an array of row objects and a buffer that grows by doubling; reading, every row object alive
 * until the last is read. Here the bytes are the same as @msgpack/msgpack's (`ignoreUndefined`),
 * values other than the rows are still its, and a row lives only while it is read or written.
 */
import { decode, Encoder } from '@msgpack/msgpack';

/**
 * Where encoded bytes go: counted only (`buf` undefined), or copied into `buf`. A body is made in
 * two passes, one to count and one to copy, so its bytes are held once, in one buffer of the exact
 * size: pieces joined at the end were held twice at the join (issue #22: a manifest of a million
 * files is ~170 MB).
 */
class Out {
  at: number;
  constructor(readonly buf?: Uint8Array, at = 0) {
    this.at = at;
  }

  add(b: Uint8Array): void {
    this.buf?.set(b, this.at);
    this.at += b.length;
  }

  head(short: number, code16: number, n: number): void {
    if (n < 16) this.add(Uint8Array.of(short + n));
    else if (n < 0x10000) this.add(Uint8Array.of(code16, n >>> 8, n & 0xff));
    else this.add(Uint8Array.of(code16 + 1, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  }
}

/** A row already encoded: its parts are written as they are, one after another. */
export class Encoded {
  readonly parts: Uint8Array[];
  constructor(...parts: Uint8Array[]) {
    this.parts = parts;
  }
}

/**
 * `body` encoded as `encode(body, { ignoreUndefined: true })` would, with `body[key]` replaced by
 * `rows` rows, row i made by `row(i)` (encoded unless it is Encoded already, then dropped; each row is made twice: once to
 * count its bytes, once to copy them). `before`/`after`: free bytes around the result (an
 * envelope's head and tail, filled by the caller).
 */
export function encodeWithRows(body: Record<string, unknown>, key: string, rows: number, row: (i: number) => unknown, before = 0, after = 0): Uint8Array {
  const enc = new Encoder({ ignoreUndefined: true });
  const keys = Object.keys(body).filter((k) => k === key || body[k] !== undefined);
  const emit = (out: Out): Out => {
    out.head(0x80, 0xde, keys.length);
    for (const k of keys) {
      out.add(enc.encodeSharedRef(k));
      if (k !== key) out.add(enc.encodeSharedRef(body[k]));
      else {
        out.head(0x90, 0xdc, rows);
        for (let i = 0; i < rows; i++) {
          const r = row(i);
          if (r instanceof Encoded) for (const b of r.parts) out.add(b);
          else out.add(enc.encodeSharedRef(r));
        }
      }
    }
    return out;
  };
  const size = emit(new Out()).at;
  const buf = new Uint8Array(before + size + after);
  if (emit(new Out(buf, before)).at !== before + size) throw new Error('msgpack: a row encoded to a different length the second time');
  return buf;
}

const utf8 = new TextDecoder();

/** A MessagePack reader over one buffer: sizes and scalars read in place, anything else by @msgpack/msgpack. */
export class MsgReader {
  pos = 0;
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** `bytes` seen as a plain Uint8Array (a bin read from a Buffer is not a Buffer, as in @msgpack/msgpack). */
  constructor(bytes: Uint8Array) {
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos === this.bytes.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new RangeError('msgpack: insufficient data');
  }

  private uint(n: 1 | 2 | 4): number {
    this.need(n);
    const v = n === 1 ? this.view.getUint8(this.pos) : n === 2 ? this.view.getUint16(this.pos) : this.view.getUint32(this.pos);
    this.pos += n;
    return v;
  }

  /** The length of a map (`short` 0x80) or array (`short` 0x90) here, or -1 (nothing read) when it is not one. */
  head(short: 0x80 | 0x90): number {
    this.need(1);
    const b = this.bytes[this.pos];
    const code16 = short === 0x80 ? 0xde : 0xdc;
    if (b >= short && b < short + 16) return this.pos++, b - short;
    if (b === code16) return this.pos++, this.uint(2);
    if (b === code16 + 1) return this.pos++, this.uint(4);
    return -1;
  }

  /** The bytes of a bin here (a view, not a copy), or undefined (nothing read) when it is not one. */
  bin(): Uint8Array | undefined {
    this.need(1);
    const b = this.bytes[this.pos];
    if (b < 0xc4 || b > 0xc6) return undefined;
    this.pos++;
    const n = this.uint(b === 0xc4 ? 1 : b === 0xc5 ? 2 : 4);
    this.need(n);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }

  /** Where the bytes of a bin of exactly `n` bytes here start (stepped over, no view made), or -1 (nothing read) when it is not one. */
  binAt(n: number): number {
    const start = this.pos;
    if (n < 0x100 && this.pos + 2 + n <= this.bytes.length && this.bytes[this.pos] === 0xc4 && this.bytes[this.pos + 1] === n) {
      this.pos += 2 + n;
      return start + 2;
    }
    const v = this.bin(); // a longer length form: valid msgpack, never what mobr writes
    if (v?.length === n) return this.pos - n;
    this.pos = start;
    return -1;
  }

  /** The value here, decoded as @msgpack/msgpack decodes it. */
  value(): unknown {
    this.need(1);
    const b = this.bytes[this.pos];
    if (b < 0x80) return this.pos++, b;
    if (b >= 0xe0) return this.pos++, b - 0x100;
    if ((b >= 0xa0 && b < 0xc0) || (b >= 0xd9 && b <= 0xdb)) return this.str(b);
    if (b === 0xc0) return this.pos++, null;
    if (b === 0xc2 || b === 0xc3) return this.pos++, b === 0xc3;
    if (b >= 0xcc && b <= 0xcf) return this.pos++, b === 0xcf ? this.uint(4) * 4294967296 + this.uint(4) : this.uint(b === 0xcc ? 1 : b === 0xcd ? 2 : 4);
    if (b >= 0xd0 && b <= 0xd3) return this.int(b);
    if (b === 0xca || b === 0xcb) return this.float(b);
    const bin = this.bin();
    if (bin) return bin;
    const map = this.head(0x80);
    if (map >= 0) return this.map(map);
    const list = this.head(0x90);
    if (list >= 0) return Array.from({ length: list }, () => this.value());
    const start = this.pos;
    this.skip();
    return decode(this.bytes.subarray(start, this.pos)); // extensions (a timestamp), and what it refuses
  }

  private map(n: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.value();
      if ((typeof k !== 'string' && typeof k !== 'number') || k === '__proto__') throw new RangeError('msgpack: a map key that is not a string or number');
      out[k] = this.value();
    }
    return out;
  }

  private str(b: number): string {
    this.pos++;
    const n = b >= 0xa0 && b < 0xc0 ? b - 0xa0 : this.uint(b === 0xd9 ? 1 : b === 0xda ? 2 : 4);
    this.need(n);
    this.pos += n;
    return utf8.decode(this.bytes.subarray(this.pos - n, this.pos));
  }

  private int(b: number): number {
    this.pos++;
    const n = b === 0xd0 ? 1 : b === 0xd1 ? 2 : b === 0xd2 ? 4 : 8;
    this.need(n);
    const at = this.pos;
    this.pos += n;
    if (n === 1) return this.view.getInt8(at);
    if (n === 2) return this.view.getInt16(at);
    if (n === 4) return this.view.getInt32(at);
    return this.view.getInt32(at) * 4294967296 + this.view.getUint32(at + 4);
  }

  private float(b: number): number {
    this.pos++;
    this.need(b === 0xca ? 4 : 8);
    this.pos += b === 0xca ? 4 : 8;
    return b === 0xca ? this.view.getFloat32(this.pos - 4) : this.view.getFloat64(this.pos - 8);
  }

  /** Steps over the value here. */
  skip(): void {
    for (let left = 1; left > 0; left--) {
      this.need(1);
      const b = this.bytes[this.pos++];
      if (b < 0x80 || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue;
      if (b < 0x90) left += 2 * (b - 0x80);
      else if (b < 0xa0) left += b - 0x90;
      else if (b < 0xc0) this.pos += b - 0xa0;
      else if (b === 0xdc || b === 0xdd) left += this.uint(b === 0xdc ? 2 : 4);
      else if (b === 0xde || b === 0xdf) left += 2 * this.uint(b === 0xde ? 2 : 4);
      else {
        const n = SKIP[b]?.(this) ?? bad(b); // reads the length first: then steps
        this.pos += n;
      }
    }
    if (this.pos > this.bytes.length) throw new RangeError('msgpack: insufficient data');
  }

  /** For SKIP: reads an n-byte length. */
  len(n: 1 | 2 | 4): number {
    return this.uint(n);
  }
}

const bad = (b: number): never => {
  throw new RangeError(`msgpack: unrecognized type byte 0x${b.toString(16)}`);
};

/** Bytes to step over after the type byte, by type byte (lengths read from the reader). */
const SKIP: Record<number, (r: MsgReader) => number> = {
  0xc4: (r) => r.len(1), 0xc5: (r) => r.len(2), 0xc6: (r) => r.len(4), // bin
  0xc7: (r) => r.len(1) + 1, 0xc8: (r) => r.len(2) + 1, 0xc9: (r) => r.len(4) + 1, // ext
  0xca: () => 4, 0xcb: () => 8,
  0xcc: () => 1, 0xcd: () => 2, 0xce: () => 4, 0xcf: () => 8,
  0xd0: () => 1, 0xd1: () => 2, 0xd2: () => 4, 0xd3: () => 8,
  0xd4: () => 2, 0xd5: () => 3, 0xd6: () => 5, 0xd7: () => 9, 0xd8: () => 17, // fixext
  0xd9: (r) => r.len(1), 0xda: (r) => r.len(2), 0xdb: (r) => r.len(4), // str
};
