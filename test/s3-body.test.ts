/**
 * S3 response bodies (src/store/s3.ts readBody): with a Content-Length the bytes land in one
 * buffer of that size as they arrive; a body that ends early or runs long is a ShortBody, which
 * the store retries (spec/s3.md §4).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readBody } from '../src/store/s3.js';

async function* pieces(parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

describe('readBody', () => {
  it('joins the pieces of a body of the announced length into one buffer of its own', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), async (parts) => {
        const whole = Buffer.concat(parts);
        const got = await readBody(pieces(parts), whole.length);
        expect(Buffer.from(got).equals(whole)).toBe(true);
        expect(got.byteLength).toBe(got.buffer.byteLength);
      }),
      { numRuns: 100 },
    );
  });

  it('a body shorter or longer than announced is a ShortBody (retried)', async () => {
    const parts = [new Uint8Array(10), new Uint8Array(5)];
    await expect(readBody(pieces(parts), 16)).rejects.toMatchObject({ name: 'ShortBody', message: 'response body ended after 15 of 16 bytes' });
    await expect(readBody(pieces(parts), 12)).rejects.toMatchObject({ name: 'ShortBody' });
  });

  it('without a length it takes the SDK body whole', async () => {
    const body = { transformToByteArray: async () => new Uint8Array([1, 2, 3]) };
    expect([...(await readBody(body, undefined))]).toEqual([1, 2, 3]);
    expect((await readBody(undefined, undefined)).length).toBe(0);
  });
});
