/** Hex helpers for ids (chunk ids, pack names): lower-case, fixed length. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export const ID_BYTES = 32;
export const ID_HEX = /^[0-9a-f]{64}$/;
