/** Hex helpers for ids (chunk ids, pack names): lower-case, fixed length. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

const ID_BYTES = 32;

const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) DIGIT['0123456789abcdef'.charCodeAt(i)] = i;

/** Writes the id a 64-digit lower-case hex string names into `out` (32 bytes), without allocating; false if it names none. */
export function hexInto(hex: string, out: Uint8Array): boolean {
  if (hex.length !== 2 * ID_BYTES) return false;
  for (let i = 0; i < ID_BYTES; i++) {
    const a = hex.charCodeAt(2 * i);
    const b = hex.charCodeAt(2 * i + 1);
    const x = a < 128 ? DIGIT[a] : -1;
    const y = b < 128 ? DIGIT[b] : -1;
    if (x < 0 || y < 0) return false;
    out[i] = (x << 4) | y;
  }
  return true;
}
