/**
 * Issue #25: retry, request counting and the concurrency limit are Store decorators
 * (src/store/retry.ts, count.ts, limit.ts), not code inside S3Store. Here on a MemStore behind a
 * decorator that fails on cue, so each rule is seen alone: what is retried and how often, what a
 * retried listing yields, a conditional put meeting its own earlier attempt, what is counted,
 * how many calls run at once, and that a signal ends a backoff and a wait for a permit.
 */
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { MobrError } from '../src/errors.js';
import { MemStore } from '../src/store/mem.js';
import { FolderStore, SignalStore, StoreDecorator } from '../src/store/decorator.js';
import { RetryStore, TransientError } from '../src/store/retry.js';
import { CountingStore, noRequests } from '../src/store/count.js';
import { LimitStore } from '../src/store/limit.js';
import { FS_RANGE_SIZE, FsStore } from '../src/store/fs.js';
import type { CallOptions, PutOptions, StoreEntry } from '../src/store/store.js';

const FAST = { tries: 5, baseDelayMs: 1, maxDelayMs: 5 };
const busy = (kind: 'retry' | 'timeout' = 'retry') => new TransientError('SERVER_ERROR', (n) => `busy${n > 1 ? ` after ${n} tries` : ''}`, kind);

/** Fails the next `failures` calls of a kind with `error()`, after `after` entries for a listing. */
class Flaky extends StoreDecorator<MemStore> {
  failures = 0;
  error: () => Error = () => busy();
  listFailsAfter = 0;
  calls = 0;
  /** A put that stores its object and then fails (its answer lost). */
  loseAnswer = false;

  private trip(): void {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw this.error();
    }
  }

  override async get(key: string, o?: CallOptions): Promise<Uint8Array> {
    this.trip();
    return this.inner.get(key, o);
  }

  override async put(key: string, data: Uint8Array, o?: PutOptions): Promise<void> {
    if (this.loseAnswer) {
      this.loseAnswer = false;
      await this.inner.put(key, data, o);
      throw busy();
    }
    this.trip();
    return this.inner.put(key, data, o);
  }

  override async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    this.calls++;
    let n = 0;
    for await (const e of this.inner.list(prefix, o)) {
      if (n++ === this.listFailsAfter && this.failures > 0) {
        this.failures--;
        throw busy();
      }
      yield e;
    }
  }
}

async function stack(failures = 0) {
  const mem = new MemStore();
  for (const k of ['a', 'b', 'c', 'd']) await mem.put(`x/${k}`, new Uint8Array([k.charCodeAt(0)]));
  const flaky = new Flaky(mem);
  flaky.failures = failures;
  const counts = noRequests();
  const store = new RetryStore(new CountingStore(flaky, counts), FAST, counts);
  return { mem, flaky, counts, store };
}

describe('RetryStore', () => {
  it('retries a transient failure, counting each attempt and each retry; gives up after `tries` saying so', async () => {
    const s = await stack(3);
    expect(await s.store.get('x/a')).toEqual(new Uint8Array([97]));
    expect(s.counts).toMatchObject({ get: 4, retries: 3 });
    s.flaky.failures = 10;
    await expect(s.store.get('x/a')).rejects.toMatchObject({ code: 'SERVER_ERROR', message: 'busy after 5 tries' });
    expect(s.counts).toMatchObject({ get: 9, retries: 7 });
  });

  it('never retries what is not transient, and a timeout only twice', async () => {
    const s = await stack(1);
    s.flaky.error = () => new MobrError('ACCESS_DENIED', 'denied');
    await expect(s.store.get('x/a')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(s.flaky.calls).toBe(1);
    s.flaky.failures = 10;
    s.flaky.error = () => busy('timeout');
    await expect(s.store.get('x/a')).rejects.toMatchObject({ message: 'busy after 2 tries' });
    expect(s.flaky.calls).toBe(3);
  });

  it('a listing cut off after two entries is listed again without repeating them', async () => {
    const s = await stack();
    s.flaky.failures = 2;
    s.flaky.listFailsAfter = 2;
    const keys: string[] = [];
    for await (const e of s.store.list('x')) keys.push(e.key);
    expect(keys.sort()).toEqual(['x/a', 'x/b', 'x/c', 'x/d']);
    expect(s.flaky.calls).toBe(3);
    expect(s.counts.retries).toBe(2);
  });

  it('a conditional put whose answer was lost meets its own object on the retry: success; another object there: REPO_EXISTS', async () => {
    const s = await stack();
    s.flaky.loseAnswer = true;
    await s.store.put('x/new', new Uint8Array([1, 2, 3]), { ifNoneMatch: true });
    expect(s.counts.retries).toBe(1);
    await s.mem.put('x/theirs', new Uint8Array([7]));
    s.flaky.failures = 1; // the first attempt fails, the retry meets another process's object
    await expect(s.store.put('x/theirs', new Uint8Array([8]), { ifNoneMatch: true })).rejects.toMatchObject({ code: 'REPO_EXISTS' });
  });

  it('a signal ends the backoff with its reason', async () => {
    const mem = new MemStore();
    const flaky = new Flaky(mem);
    flaky.failures = 100;
    const store = new RetryStore(flaky, { tries: 100, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 50);
    const t0 = performance.now();
    await expect(store.get('x', { signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - t0, 'stopped by the signal, not at the end of the first 60 s backoff').toBeLessThan(60_000);
  });
});

describe('rangeSize', () => {
  it("a local folder's longest ranged read shows through every decorator; a store without one shows none", () => {
    const wrap = (s: FsStore | MemStore) => new CountingStore(new RetryStore(new LimitStore(new SignalStore(new FolderStore(s, 'x'), new AbortController().signal), 2)));
    expect(FS_RANGE_SIZE).toBe(4 * 1024 * 1024);
    expect(wrap(new FsStore('/nonexistent')).rangeSize).toBe(FS_RANGE_SIZE);
    expect(wrap(new MemStore()).rangeSize).toBeUndefined();
  });
});

describe('LimitStore', () => {
  it('runs at most `size` calls at once; a waiting call leaves on its signal', async () => {
    let now = 0;
    let most = 0;
    const release: (() => void)[] = [];
    class Slow extends StoreDecorator<MemStore> {
      override async has(): Promise<boolean> {
        most = Math.max(most, ++now);
        await new Promise<void>((r) => release.push(r));
        now--;
        return true;
      }
    }
    const store = new LimitStore(new Slow(new MemStore()), 2);
    const calls = Array.from({ length: 6 }, () => store.has('k'));
    await new Promise((r) => setTimeout(r, 10));
    expect(now, 'calls running at once').toBe(2);
    const ac = new AbortController();
    const waiting = store.has('k', { signal: ac.signal });
    ac.abort('SIGTERM');
    await expect(waiting).rejects.toMatchObject({ code: 'INTERRUPTED' });
    while (release.length > 0 || now > 0) {
      await new Promise((r) => setTimeout(r, 1));
      release.shift()?.();
    }
    expect(await Promise.all(calls)).toEqual(Array(6).fill(true));
    expect(most).toBe(2);
  });
});
