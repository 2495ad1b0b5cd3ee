/**
 * Issue #25 "nothing that ignores Ctrl-C": a `--limit_upload` / `--limit_download` wait ends when
 * the call's signal fires (Ctrl-C, or a write session's lost lock), with the signal's reason, and
 * the bytes that were not sent give their time back to the bucket.
 */
import { describe, expect, it } from 'vitest';
import { MobrError } from '../src/errors.js';
import { RateLimitedStore, TokenBucket } from '../src/store/rate-limit.js';
import { MemStore } from '../src/store/mem.js';

/** p, or a failure naming the wait once `ms` passed (a test that fails, not one that times out). */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref())]);

describe('the bandwidth limit stops on its signal (issue #25)', () => {
  it('a put waiting on a slow limit fails at once with the signal\'s reason, and stores nothing', async () => {
    const inner = new MemStore();
    const s = new RateLimitedStore(inner, { uploadKiBs: 1 });
    await s.put('a', new Uint8Array(1024)); // the first second's credit
    const lost = new MobrError('LOCKED', 'backup x lost the repository lock');
    const ac = new AbortController();
    setTimeout(() => ac.abort(lost), 100);
    const put = s.put('b', new Uint8Array(100 * 1024), { signal: ac.signal }); // 100 s at 1 KiB/s
    await expect(within(put, 50_000)).rejects.toBe(lost); // the put alone waits 100 s: ending in half of that, it ended on the signal
    expect(await inner.has('b')).toBe(false);
  });

  it('a read waiting on a slow limit stops with INTERRUPTED on Ctrl-C', async () => {
    const inner = new MemStore();
    await inner.put('big', new Uint8Array(200 * 1024));
    const s = new RateLimitedStore(inner, { downloadKiBs: 1 });
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 100);
    await expect(within(s.getRange('big', 0, 100 * 1024, { signal: ac.signal }), 50_000)).rejects.toMatchObject({ code: 'INTERRUPTED', message: 'interrupted (SIGINT)' });
  });

  it('the bytes not sent give their time back', async () => {
    const slept: number[] = [];
    const bucket = new TokenBucket(1024, () => 0, async (ms, signal) => {
      slept.push(ms);
      if (signal) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    });
    await bucket.take(1024); // the first second's credit: no wait
    const ac = new AbortController();
    const waiting = bucket.take(100 * 1024, ac.signal);
    ac.abort('SIGTERM');
    await expect(waiting).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await bucket.take(1024);
    expect(slept).toEqual([100_000, 1000]); // not 101 s: the aborted 100 KiB were given back
  });
});
