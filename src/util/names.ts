/**
 * File names are bytes, not text. Inside mobr a name (or a path) is a JS string: bytes that
 * form valid UTF-8 become their characters, and every byte that does not is carried as one lone
 * surrogate U+DC80..U+DCFF (0x80..0xFF; Python's "surrogateescape"). Valid UTF-8 never decodes
 * to a lone surrogate, so the mapping is one-to-one: encodeName(decodeName(b)) equals b for
 * every byte string b. At the filesystem, fsPath gives Node the bytes back (a Buffer) whenever
 * a string carries such an escape; plain names stay strings.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone low surrogate in the escape range (not the second half of a surrogate pair). */
const ESCAPE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** Bytes -> name; never fails. */
export function decodeName(b: Uint8Array): string {
  try {
    return fatal.decode(b);
  } catch {
    return decodeSlow(b);
  }
}

/** Length of the valid UTF-8 sequence at b[i], or 0 when the byte there starts none. */
function seqLength(b: Uint8Array, i: number): number {
  const c = b[i];
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < b.length && b[i + j] >= lo && b[i + j] <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeSlow(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = seqLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]);
      i++;
    } else {
      out += fatal.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** True when the name carries no escaped byte (it is plain UTF-8 text). */
export function isPlainName(s: string): boolean {
  return !ESCAPE.test(s);
}

/** Name -> bytes: the inverse of decodeName. */
export function encodeName(s: string): Buffer {
  if (isPlainName(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(cp - 0xdc00));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand to node:fs for a path: the string itself, or its bytes when it carries escapes. */
export function fsPath(s: string): string | Buffer {
  return isPlainName(s) ? s : encodeName(s);
}

/** A printable form for messages: each escaped byte as \xNN. */
export function showName(s: string): string {
  return isPlainName(s) ? s : s.replace(/(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).padStart(2, '0')}`);
}

/**
 * p with links resolved as far as it exists, the rest appended as given (a path that does not
 * exist yet compares by where it would be); names may carry bytes that are not UTF-8. The one
 * such helper: the walk's excludes, the output rule, the catalog's sidecar and sync's nesting check.
 */
export function realish(p: string): string {
  const abs = path.resolve(p);
  try {
    return decodeName(realpathSync(fsPath(abs), { encoding: 'buffer' }));
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realish(parent), path.basename(abs));
  }
}
