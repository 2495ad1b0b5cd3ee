/**
 * Fuzzing every decoder (spec/reliability.md §6): random bytes, mutations of valid encodings
 * (flip, truncate, extend, splice), and — the strongest attacker — validly *sealed* envelopes
 * whose body is anything msgpack can hold or a valid body with one field replaced. A decoder
 * either returns a value or throws a MobrError; any other throw (TypeError, RangeError, a
 * msgpack error…) would crash mo_br with an internal error and fails the test.
 * Runs: MOBR_FUZZ_RUNS per property (default 300).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { MobrError } from '../src/errors.js';
import { blake3, blake3Ready } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import { seal } from '../src/repo/sealed.js';
import { decodeManifest, encodeManifest, type Manifest } from '../src/repo/manifest.js';
import { decodeIndex, encodeIndex } from '../src/repo/index-file.js';
import { decodePackHeader, encodePackHeader, parseTrailer, PACK_MAGIC } from '../src/repo/pack.js';
import { decodeConfig, encodeConfig, newConfig } from '../src/repo/config.js';
import { parseMeta, serializeMeta, type BackupRecord } from '../src/cli/meta.js';
import { parseMoMeta, parseTaeList, parseTaeSum, parseTS, parseSidecar, writeMoMeta, writeTaeList, writeTaeSum } from '../src/mo/layout.js';

const RUNS = Number(process.env.MOBR_FUZZ_RUNS ?? 300);
await blake3Ready();

/** Calls fn; passes if it returns or throws a MobrError. */
function onlyMobrErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MobrError)) throw new Error(`decoder threw a non-MobrError: ${(e as Error)?.name}: ${(e as Error)?.message}`);
    expect(e.message).not.toMatch(/\n/);
  }
}

const id32 = (n: number) => blake3(new Uint8Array([n]));

const manifest: Manifest = {
  version: 1,
  id: 'b1',
  type: 'full',
  startedAt: 1,
  completedAt: 2,
  source: { kind: 'cold' },
  files: [
    { path: 'd', kind: 'dir', size: 0, mode: 0o755, mtimeMs: 1 },
    { path: 'd/f', kind: 'file', size: 3, mode: 0o644, mtimeMs: 1, sha256: id32(1), chunks: new Uint8Array([...id32(2), ...id32(3)]), meta: { checksum: 'ab' } },
    { path: 'l', kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 1, target: 'd/f' },
  ],
  logicalSize: 3,
  addedBytes: 10,
};
const packs = [{ id: toHex(id32(9)), blobs: [{ id: id32(2), offset: 0, length: 5, rawLength: 5, codec: 0 }, { id: id32(3), offset: 5, length: 7, rawLength: 9, codec: 1 }] }];
const header = encodePackHeader(packs[0].blobs, id32(8));
const record: BackupRecord = {
  id: '25536ff0-126f-11ef-9902-26dd28356ef3',
  size: 10,
  location: { backupDir: 'filesystem', path: '/b' },
  atTime: 1,
  durationNs: 2,
  completeTime: 3,
  backupTs: '1-0',
  backupType: 'full',
};

const VALID = {
  manifest: encodeManifest(manifest),
  index: encodeIndex(packs),
  config: encodeConfig(newConfig({ chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 4096 })),
  header,
  meta: new TextEncoder().encode(serializeMeta([record, { ...record, id: '25536ff0-126f-11ef-9902-26dd28356ef4', baseId: record.id, backupType: 'incremental' }])),
  taeList: new TextEncoder().encode(writeTaeList([{ path: 'obj', size: 3, checksum: 'abcd', needCopy: true, ts: { physical: 5n, logical: 1 } }])),
  moMeta: new TextEncoder().encode(writeMoMeta([{ type: 'version', version: '0823' }, { type: 'launchconfig', subtype: 'cn', file: 'cn.toml' }])),
  taeSum: new TextEncoder().encode(writeTaeSum({ backupTime: '2024-05-13 12:00:12', size: 3, backupTS: { physical: 5n, logical: 1 }, type: '' })),
};

/** What each valid input must decode to: a summary of the value and its expected form. */
const DECODED: Record<keyof typeof VALID, [(v: any) => unknown, unknown]> = {
  manifest: [(m: Manifest) => [m.id, m.files.map((f) => [f.path, f.kind, f.size, f.target ?? null, f.meta ?? null])], ['b1', manifest.files.map((f) => [f.path, f.kind, f.size, f.target ?? null, f.meta ?? null])]],
  index: [(p: { id: string; blobs: { length: number; rawLength: number; codec: number }[] }[]) => p.map((x) => [x.id, x.blobs.map((b) => [b.length, b.rawLength, b.codec])]), [[packs[0].id, [[5, 5, 0], [7, 9, 1]]]]],
  config: [(c: { chunker: { min: number; avg: number; max: number }; packSize: number }) => [c.chunker.min, c.chunker.avg, c.chunker.max, c.packSize], [1024, 4096, 16384, 4096]],
  header: [(h: { offset: number; length: number }[]) => h.map((b) => [b.offset, b.length]), [[0, 5], [5, 7]]],
  meta: [(r: { id: string }[]) => r.map((x) => x.id), [record.id, '25536ff0-126f-11ef-9902-26dd28356ef4']],
  taeList: [(l: { path: string; size: number; needCopy: boolean }[]) => l.map((e) => [e.path, e.size, e.needCopy]), [['obj', 3, true]]],
  moMeta: [(l: { type: string }[]) => l.map((e) => e.type), ['version', 'launchconfig']],
  taeSum: [(t: { size: number; type: string }) => [t.size, t.type], [3, '']],
};

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  manifest: (b) => decodeManifest(b, 'manifest'),
  index: (b) => decodeIndex(b, 'index'),
  config: (b) => decodeConfig(b, 'config'),
  header: (b) => decodePackHeader(b, toHex(blake3(b)), 1 << 20, 'pack'), // the name matches: the body is what is fuzzed
  meta: (b) => parseMeta(new TextDecoder().decode(b), 'mo_br.meta'),
  taeList: (b) => parseTaeList(b),
  moMeta: (b) => parseMoMeta(b),
  taeSum: (b) => parseTaeSum(b),
};

/** A valid encoding mutated: bytes flipped, cut, extended, or a run copied elsewhere. */
const mutated = (valid: Uint8Array) =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const b = valid.slice();
      for (const [i, x] of flips) b[i % b.length] ^= x;
      return b;
    }),
    fc.nat().map((n) => valid.slice(0, n % valid.length)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => new Uint8Array([...valid, ...extra])),
    fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 64 })).map(([from, to, len]) => {
      const b = valid.slice();
      b.set(valid.subarray(from % b.length, (from % b.length) + len).subarray(0, b.length - (to % b.length)), to % b.length);
      return b;
    }),
  );

/** msgpack-encodable values, with byte strings and big or odd numbers among them. */
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 31), 2 ** 32 + 1, Number.NaN, Infinity, 1.5),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('file', 'dir', 'symlink', 'full', 'incremental', '../x', '/etc/passwd'),
    fc.uint8Array({ maxLength: 40 }),
    fc.constant(new Uint8Array(32)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('p', 'k', 's', 'm', 't', 'h', 'c', 'l', 'x', 'id', 'type', 'files', 'packs', 'blobs', 'v', 'chunker', 'hash', 'packSize'), tie('v'), { maxKeys: 5 }),
  ),
})).v;

/** Replaces the thing at a random path inside a decoded body with `v`. */
function replaceAt(body: unknown, pathSeed: number[], v: unknown): unknown {
  if (pathSeed.length === 0 || body === null || typeof body !== 'object' || body instanceof Uint8Array) return v;
  const [k, ...rest] = pathSeed;
  if (Array.isArray(body)) {
    if (body.length === 0) return v;
    const i = k % body.length;
    const copy = body.slice();
    copy[i] = replaceAt(body[i], rest, v);
    return copy;
  }
  const keys = Object.keys(body as object);
  if (keys.length === 0) return v;
  const key = keys[k % keys.length];
  return { ...(body as object), [key]: replaceAt((body as Record<string, unknown>)[key], rest, v) };
}

const BODIES: Record<'M' | 'I' | 'C', { decode: (b: Uint8Array) => unknown; body: unknown }> = {
  M: { decode: DECODERS.manifest, body: { ...manifest, files: manifest.files.map((f) => ({ p: f.path, k: f.kind, s: f.size, m: f.mode, t: f.mtimeMs, h: f.sha256, c: f.chunks, l: f.target, x: f.meta })) } },
  I: { decode: DECODERS.index, body: { packs: packs.map((p) => ({ id: id32(9), blobs: p.blobs.map((b) => [b.id, b.offset, b.length, b.rawLength, b.codec]) })) } },
  C: { decode: DECODERS.config, body: newConfig({ packSize: 4096 }) },
};

describe('fuzz: decoders only ever throw MobrError', () => {
  for (const [name, decode] of Object.entries(DECODERS)) {
    it(`${name}: valid input decodes to what was encoded`, () => {
      const [summary, want] = DECODED[name as keyof typeof VALID];
      expect(summary(decode(VALID[name as keyof typeof VALID]))).toEqual(want);
    });
    it(`${name}: random bytes`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyMobrErrors(() => decode(b))), { numRuns: RUNS });
    });
    it(`${name}: mutated valid bytes`, () => {
      fc.assert(fc.property(mutated(VALID[name as keyof typeof VALID]), (b) => onlyMobrErrors(() => decode(b))), { numRuns: RUNS });
    });
  }

  for (const [kind, { decode, body }] of Object.entries(BODIES)) {
    it(`sealed '${kind}' envelope (checksum valid) with any body`, () => {
      fc.assert(fc.property(value, (v) => onlyMobrErrors(() => decode(seal(kind as 'M', 1, v)))), { numRuns: RUNS });
    });
    it(`sealed '${kind}' envelope (checksum valid) with one field of a valid body replaced`, () => {
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 5 }), value, (p, v) => onlyMobrErrors(() => decode(seal(kind as 'M', 1, replaceAt(body, p, v))))),
        { numRuns: RUNS },
      );
    });
  }

  it('pack header with a matching name but any body; pack trailer of any 12 bytes', () => {
    fc.assert(
      fc.property(value, fc.nat(1 << 20), (v, len) => {
        const h = encode({ v: 1, blobs: v }, { ignoreUndefined: true });
        onlyMobrErrors(() => decodePackHeader(h, toHex(blake3(h)), len, 'pack'));
      }),
      { numRuns: RUNS },
    );
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 16 }), (t) => onlyMobrErrors(() => parseTrailer(t, 'pack'))), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (n) => onlyMobrErrors(() => parseTrailer(new Uint8Array([...n, ...PACK_MAGIC]), 'pack'))),
      { numRuns: 50 },
    );
  });

  it('mo_br.meta: JSON documents with a correct checksum over any records', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), (records) => {
        const json = JSON.stringify(records);
        const sha = createHash('sha256').update(json).digest('hex');
        onlyMobrErrors(() => parseMeta(`{"format":"mobr.meta","version":1,"records":${json},"sha256":"${sha}"}`, 'mo_br.meta'));
      }),
      { numRuns: RUNS },
    );
  });

  it('MatrixOne TS strings and sidecars', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => onlyMobrErrors(() => parseTS(s))), { numRuns: RUNS });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => onlyMobrErrors(() => parseSidecar(b, 'sha256', 'f'))), { numRuns: 100 });
  });
});
