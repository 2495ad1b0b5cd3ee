/**
 * The Store contract suite (src/store/store.ts): every implementation runs it, so MemStore,
 * FsStore and S3Store behave the same to the repository layer above them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Store, StoreEntry } from '../src/store/store.js';
import { MobrError } from '../src/errors.js';

export interface StoreUnderTest {
  store: Store;
  cleanup: () => Promise<void>;
}

export interface SuiteOptions {
  /** Size of the "large object" case; pick it above the store's multipart threshold. */
  largeSize?: number;
  /** fast-check runs of the model property (each run uses a fresh folder). */
  propertyRuns?: number;
  /** The store does its work asynchronously, so a signal can fire while a put is in flight (not MemStore). */
  inFlight?: boolean;
  /** The store reads a range into the caller's `into` buffer (RangeOptions): a local folder does. */
  readsInto?: boolean;
}

async function listAll(store: Store, prefix: string): Promise<StoreEntry[]> {
  const out: StoreEntry[] = [];
  for await (const e of store.list(prefix)) out.push(e);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${String(e)}`;
  }
  return 'resolved';
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export function runStoreSuite(name: string, makeStore: () => Promise<StoreUnderTest>, options: SuiteOptions = {}): void {
  const largeSize = options.largeSize ?? 9 * 1024 * 1024 + 7;
  const propertyRuns = options.propertyRuns ?? 40;

  describe(`Store contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: Store;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await store.close?.();
      await sut.cleanup();
    });

    it('describes its location as text', () => {
      expect(typeof store.location).toBe('string');
      expect(store.location.length).toBeGreaterThan(0);
    });

    it('a call whose signal has fired fails with its reason and changes nothing', async () => {
      await store.put('sig/x', bytes('kept'));
      const ac = new AbortController();
      ac.abort(new MobrError('LOCKED', 'backup lost the repository lock'));
      const o = { signal: ac.signal };
      expect(await codeOf(store.put('sig/y', bytes('new'), o))).toBe('LOCKED');
      expect(await codeOf(store.put('sig/x', bytes('replaced'), { ...o, ifNoneMatch: false }))).toBe('LOCKED');
      expect(await codeOf(store.get('sig/x', o))).toBe('LOCKED');
      expect(await codeOf(store.getRange('sig/x', 0, 2, o))).toBe('LOCKED');
      expect(await codeOf(store.stat('sig/x', o))).toBe('LOCKED');
      expect(await codeOf(store.has('sig/x', o))).toBe('LOCKED');
      expect(await codeOf(store.delete('sig/x', o))).toBe('LOCKED');
      expect(await codeOf((async () => { for await (const _ of store.list('sig', o)) void _; })())).toBe('LOCKED');
      expect(Buffer.from(await store.get('sig/x')).toString()).toBe('kept');
      expect(await store.has('sig/y')).toBe(false);
    });

    if (options.inFlight) {
      it('a signal that fires while a large put is in flight stops it: its reason, and no object', async () => {
        const ac = new AbortController();
        const put = store.put('sig/large', randomBytes(largeSize), { signal: ac.signal });
        setImmediate(() => ac.abort(new MobrError('LOCKED', 'lost')));
        expect(await codeOf(put)).toBe('LOCKED');
        expect(await store.has('sig/large')).toBe(false);
        expect((await listAll(store, 'sig')).map((e) => e.key)).toEqual([]);
      });
    }

    it('round-trips binary content, including every byte value and the empty object', async () => {
      const all = new Uint8Array(512).map((_, i) => i % 256);
      await store.put('bin/all-bytes', all);
      await store.put('bin/empty', new Uint8Array(0));
      expect(Buffer.from(await store.get('bin/all-bytes')).equals(Buffer.from(all))).toBe(true);
      expect((await store.get('bin/empty')).length).toBe(0);
      expect((await store.stat('bin/empty'))?.size).toBe(0);
    });

    it('keeps its own copy: mutating the buffer after put changes nothing', async () => {
      const data = bytes('immutable');
      await store.put('k/imm', data);
      data.fill(0);
      expect(Buffer.from(await store.get('k/imm')).toString()).toBe('immutable');
    });

    it('reads ranges: start, middle, end, and empty at the end', async () => {
      const data = randomBytes(1000);
      await store.put('r/obj', data);
      expect(Buffer.from(await store.getRange('r/obj', 0, 10)).equals(data.subarray(0, 10))).toBe(true);
      expect(Buffer.from(await store.getRange('r/obj', 333, 100)).equals(data.subarray(333, 433))).toBe(true);
      expect(Buffer.from(await store.getRange('r/obj', 990, 10)).equals(data.subarray(990))).toBe(true);
      expect((await store.getRange('r/obj', 1000, 0)).length).toBe(0);
    });

    it('reads a range into the buffer given (where the store can), and never into one too short', async () => {
      const data = randomBytes(1000);
      await store.put('r/into', data);
      const into = new Uint8Array(new SharedArrayBuffer(512));
      const got = await store.getRange('r/into', 333, 100, { into });
      expect(Buffer.from(got).equals(data.subarray(333, 433))).toBe(true);
      expect(got.buffer === into.buffer).toBe(options.readsInto === true);
      const short = new Uint8Array(50);
      const whole = await store.getRange('r/into', 0, 100, { into: short });
      expect(Buffer.from(whole).equals(data.subarray(0, 100))).toBe(true);
      expect(whole.buffer === short.buffer).toBe(false);
      expect(short.every((b) => b === 0)).toBe(true);
    });

    it('fails a range past the end with CORRUPT rather than returning short data', async () => {
      await store.put('r/short', randomBytes(100));
      expect(await codeOf(store.getRange('r/short', 90, 20))).toBe('CORRUPT');
    });

    it('answers has / stat for present and missing keys', async () => {
      const before = Date.now();
      await store.put('s/one', randomBytes(123));
      expect(await store.has('s/one')).toBe(true);
      expect(await store.has('s/two')).toBe(false);
      expect(await store.has('nothing/here/at/all')).toBe(false);
      const st = await store.stat('s/one');
      expect(st).toMatchObject({ key: 's/one', size: 123 });
      if (st?.mtimeMs !== undefined) expect(Math.abs(st.mtimeMs - before)).toBeLessThan(10 * 60_000);
      expect(await store.stat('s/two')).toBeUndefined();
    });

    it('fails get / getRange of a missing key with NOT_FOUND', async () => {
      expect(await codeOf(store.get('missing/key'))).toBe('NOT_FOUND');
      expect(await codeOf(store.getRange('missing/key', 0, 1))).toBe('NOT_FOUND');
      expect(await codeOf(store.get('missing'))).toBe('NOT_FOUND');
    });

    it('lists a folder: exact folder boundary, trailing slash, nested keys, sizes; "" lists everything', async () => {
      const keys: Record<string, number> = { 'a/b/1': 1, 'a/b/2': 2, 'a/b/deep/3': 3, 'a/bc/4': 4, 'a/x': 5, top: 6 };
      for (const [k, n] of Object.entries(keys)) await store.put(k, new Uint8Array(n));
      const view = (es: StoreEntry[]) => es.map((e) => [e.key, e.size]);
      expect(view(await listAll(store, 'a/b'))).toEqual([['a/b/1', 1], ['a/b/2', 2], ['a/b/deep/3', 3]]);
      expect(view(await listAll(store, 'a/b/'))).toEqual([['a/b/1', 1], ['a/b/2', 2], ['a/b/deep/3', 3]]);
      expect((await listAll(store, 'a')).map((e) => e.key)).toEqual(['a/b/1', 'a/b/2', 'a/b/deep/3', 'a/bc/4', 'a/x']);
      expect(view(await listAll(store, ''))).toEqual(Object.entries(keys).sort());
      expect(await listAll(store, 'none')).toEqual([]);
      expect(await listAll(store, 'a/b/1/')).toEqual([]);
    });

    it('deletes: the key disappears, deleting a missing key succeeds', async () => {
      await store.put('d/x', bytes('x'));
      await store.put('d/y', bytes('y'));
      await store.delete('d/x');
      expect(await store.has('d/x')).toBe(false);
      expect(await codeOf(store.get('d/x'))).toBe('NOT_FOUND');
      expect((await listAll(store, 'd')).map((e) => e.key)).toEqual(['d/y']);
      await store.delete('d/x');
      await store.delete('never/was');
    });

    it('writes a key whose name was the folder of keys since deleted (found by the property below)', async () => {
      await store.put('gone/child', bytes('c'));
      await store.delete('gone/child');
      await store.put('gone', bytes('now a key'));
      expect(Buffer.from(await store.get('gone')).toString()).toBe('now a key');
    });

    it('replaces on a plain put, refuses with REPO_EXISTS on ifNoneMatch', async () => {
      await store.put('c/config', bytes('first'), { ifNoneMatch: true });
      expect(await codeOf(store.put('c/config', bytes('second'), { ifNoneMatch: true }))).toBe('REPO_EXISTS');
      expect(Buffer.from(await store.get('c/config')).toString()).toBe('first');
      await store.put('c/config', bytes('third'));
      expect(Buffer.from(await store.get('c/config')).toString()).toBe('third');
      await store.delete('c/config');
      await store.put('c/config', bytes('fourth'), { ifNoneMatch: true });
      expect(Buffer.from(await store.get('c/config')).toString()).toBe('fourth');
    });

    it('rejects unsafe keys with UNSAFE_PATH on every keyed operation', async () => {
      const bad = ['../escape', '/abs', 'a//b', 'a/./b', 'a/../b', '', 'a/', 'sp ace', 'back\\slash', '..', '.', 'nul\0x'];
      for (const k of bad) {
        expect([k, await codeOf(store.put(k, bytes('x')))]).toEqual([k, 'UNSAFE_PATH']);
        expect([k, await codeOf(store.get(k))]).toEqual([k, 'UNSAFE_PATH']);
        expect([k, await codeOf(store.getRange(k, 0, 1))]).toEqual([k, 'UNSAFE_PATH']);
        expect([k, await codeOf(store.has(k))]).toEqual([k, 'UNSAFE_PATH']);
        expect([k, await codeOf(store.stat(k))]).toEqual([k, 'UNSAFE_PATH']);
        expect([k, await codeOf(store.delete(k))]).toEqual([k, 'UNSAFE_PATH']);
      }
      expect(await listAll(store, '')).toEqual([]);
    });

    it(`stores a large object (${largeSize} bytes) whole and reads ranges across it`, async () => {
      const data = randomBytes(largeSize);
      await store.put('big/blob', data);
      expect((await store.stat('big/blob'))?.size).toBe(largeSize);
      const back = Buffer.from(await store.get('big/blob'));
      expect(back.length).toBe(largeSize);
      expect(back.equals(data)).toBe(true);
      const mid = Math.floor(largeSize / 2) - 50_000;
      expect(Buffer.from(await store.getRange('big/blob', mid, 100_000)).equals(data.subarray(mid, mid + 100_000))).toBe(true);
      expect((await listAll(store, 'big')).map((e) => [e.key, e.size])).toEqual([['big/blob', largeSize]]);
    });

    it('takes many concurrent puts of distinct keys', async () => {
      const n = 48;
      const blobs = Array.from({ length: n }, (_, i) => randomBytes(100 + i * 37));
      await Promise.all(blobs.map((b, i) => store.put(`par/${i % 4}/obj-${i}`, b)));
      const listed = await listAll(store, 'par');
      expect(listed.length).toBe(n);
      const back = await Promise.all(blobs.map((_, i) => store.get(`par/${i % 4}/obj-${i}`)));
      back.forEach((b, i) => expect(Buffer.from(b).equals(blobs[i]!)).toBe(true));
    });

    it('agrees with a Map model under random puts, overwrites and deletes (property)', async () => {
      const segment = fc.constantFrom('a', 'b', 'c.d', 'x_1', 'y-2', 'ZZ');
      const key = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
      const op = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), key, data: fc.uint8Array({ maxLength: 64 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
          const root = `prop/r${run++}`;
          const model = new Map<string, Uint8Array>();
          for (const o of ops) {
            const k = `${root}/${o.key}`;
            // A key cannot also be a folder on a filesystem; skip ops that would need both.
            // (Deleting 'b/a' while 'b' is an object makes FsStore fail with ENOTDIR: reported.)
            const clash = [...model.keys()].some((m) => m.startsWith(`${k}/`) || k.startsWith(`${m}/`));
            if (clash) continue;
            if (o.kind === 'put') {
              await store.put(k, o.data);
              model.set(k, o.data);
            } else {
              await store.delete(k);
              model.delete(k);
            }
          }
          const listed = await listAll(store, root);
          const expected = [...model.entries()].map(([k, d]) => [k, d.length]).sort();
          expect(listed.map((e) => [e.key, e.size])).toEqual(expected);
          for (const [k, d] of model) expect(Buffer.from(await store.get(k)).equals(Buffer.from(d))).toBe(true);
          const sub = `${root}/a`;
          const subListed = (await listAll(store, sub)).map((e) => e.key);
          expect(subListed).toEqual([...model.keys()].filter((k) => k.startsWith(`${sub}/`)).sort());
        }),
        { numRuns: propertyRuns },
      );
    });
  });
}
