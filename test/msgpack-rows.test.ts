/**
 * src/util/msgpack-rows.ts writes and reads a manifest a row at a time (issue #22): its bytes must
 * be @msgpack/msgpack's to the byte, and what it reads must be what @msgpack/msgpack decodes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode } from '@msgpack/msgpack';
import { encodeWithRows, MsgReader } from '../src/util/msgpack-rows.js';

// values as manifests hold them: strings, safe and unsafe numbers, floats, bins, maps, arrays, null, undefined
const scalar = fc.oneof(fc.string(), fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true }), fc.constantFrom(2 ** 53, -(2 ** 60), 2 ** 63, 0.5), fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.constant(null), fc.constant(undefined));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 4 })),
})).v;

/** Byte-equal (toEqual walks a buffer element by element: seconds for megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), `${a.length} bytes against ${b.length}`).toBe(0);

describe('msgpack a row at a time', () => {
  it('writes the bytes @msgpack/msgpack writes, at any row count (fixarray, array16, array32 heads)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 20 }), fc.array(value, { maxLength: 20 }), fc.nat(2), (head, rows, at) => {
        const body = { ...head, files: rows };
        same(encodeWithRows(body, 'files', rows.length, (i) => rows[i]), encode(body, { ignoreUndefined: true }));
        const framed = encodeWithRows(body, 'files', rows.length, (i) => rows[i], at, 3);
        expect(framed.length).toBe(at + encode(body, { ignoreUndefined: true }).length + 3);
      }),
      { numRuns: 60 },
    );
    for (const n of [15, 16, 65_535, 65_536]) {
      const rows = Array.from({ length: n }, (_, i) => i % 200);
      same(encodeWithRows({ a: 1, files: rows }, 'files', rows.length, (i) => rows[i]), encode({ a: 1, files: rows }));
    }
    // a row of megabytes
    const big = [new Uint8Array(3 << 20).fill(7), 'x'];
    same(encodeWithRows({ files: big }, 'files', big.length, (i) => big[i]), encode({ files: big }));
  });

  it('reads back what @msgpack/msgpack decodes, value by value, and steps over each exactly', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        const bytes = Buffer.concat(values.map((v) => encode(v)));
        const r = new MsgReader(bytes);
        for (const v of values) expect(r.value()).toEqual(decode(encode(v)));
        expect(r.done).toBe(true);
        const s = new MsgReader(bytes);
        for (const v of values) {
          const at = s.pos;
          s.skip();
          expect(s.pos - at).toBe(encode(v).length);
        }
      }),
      { numRuns: 300 },
    );
    // a timestamp extension goes to @msgpack/msgpack
    expect(new MsgReader(encode(new Date(1_700_000_000_123))).value()).toEqual(new Date(1_700_000_000_123));
  });

  it('refuses bytes cut short', () => {
    const bytes = encode({ files: ['abc', new Uint8Array(40)] });
    for (let n = 0; n < bytes.length; n++) expect(() => new MsgReader(bytes.subarray(0, n)).value(), `${n} bytes`).toThrow();
  });
});
