/**
 * The plan and part objects of a backup ingested by several processes (spec/repository.md §10):
 * exact bytes both ways (golden vectors), round trips over random values, and damage refused.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blake3Ready } from '../src/hash/blake3.js';
import { decodePart, decodePlan, encodePart, encodePlan, planHash, type BackupPart, type BackupPlan, type ShareFile } from '../src/repo/parts.js';
import { seal } from '../src/repo/sealed.js';
import { isMobrError } from '../src/errors.js';
import type { FileEntry } from '../src/repo/manifest.js';

await blake3Ready();

const PLAN: BackupPlan = {
  id: 'b1',
  repo: '0123456789abcdef0123456789abcdef',
  lock: 'locks/00112233445566778899aabbccddeeff',
  createdAt: 1700000000000,
  shares: [
    [{ rel: 'mo_meta', size: 3, stagedSize: 3, framed: false, mtimeMs: 1700000000001, meta: { sha256From: 'sidecar', sidecar: 'sha256' }, sha256: 'ab'.repeat(32), against: 'the bytes checked against its sidecar' }],
    [{ rel: 'tae/obj1', size: 10, stagedSize: 14, framed: true, mtimeMs: 1700000000002, meta: { checksum: '', needCopy: 'true', sha256From: 'mobr' }, against: 'tae/tae_list' }],
  ],
};
const PLAN_BYTES =
  '4d4f4252500185a26964a26231a47265706fd9203031323334353637383961626364656630313233343536373839616263646566a46c6f636bd9266c6f636b732f3030313132323333343435353636373738383939616162626363646465656666a9637265617465644174cf0000018bcfe56800a6736861726573929188a170a76d6f5f6d657461a17303a17a03a166c2a174cf0000018bcfe56801a17882aa73686132353646726f6da773696465636172a773696465636172a6736861323536a168c420ababababababababababababababababababababababababababababababababa161d92574686520627974657320636865636b656420616761696e73742069747320736964656361729187a170a87461652f6f626a31a1730aa17a0ea166c3a174cf0000018bcfe56802a17883a8636865636b73756da0a86e656564436f7079a474727565aa73686132353646726f6da46d6f6272a161ac7461652f7461655f6c69737402a2c315764a4372f223c90250d0f76d41fe0e246413473172ae43ab2431f390';
const PART_BYTES =
  '4d4f4252530188a26964a26231a5736861726501a673686172657302a4706c616ec420427180e3027da2de788da2b99376ba866ab7e194f36a2b4540b855713fe0ad80a566696c65739188a170a87461652f6f626a31a16ba466696c65a1730aa16dcd01a4a174cf0000018bcfe56802a168c4200101010101010101010101010101010101010101010101010101010101010101a163c4200202020202020202020202020202020202020202020202020202020202020202a17883a8636865636b73756da0a86e656564436f7079a474727565aa73686132353646726f6da46d6f6272aa616464656442797465737ba9737461727465644174cf0000018bcfe56864ab636f6d706c657465644174cf0000018bcfe568c8b5cba49b47b43b75d68f957ab4a5bb52c95b7b8546c1964b627ec8d2c3ba1d21';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const PART: BackupPart = {
  id: 'b1',
  share: 1,
  shares: 2,
  plan: planHash(unhex(PLAN_BYTES)),
  files: [{ path: 'tae/obj1', kind: 'file', size: 10, mode: 0o644, mtimeMs: 1700000000002, sha256: new Uint8Array(32).fill(1), chunks: new Uint8Array(32).fill(2), meta: { checksum: '', needCopy: 'true', sha256From: 'mobr' } }],
  addedBytes: 123,
  startedAt: 1700000000100,
  completedAt: 1700000000200,
};

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isMobrError(e) ? e.code : String(e);
  }
  return undefined;
};

describe('golden vectors (spec/repository.md §10)', () => {
  it('plan: exact bytes, both ways', () => {
    expect(hex(encodePlan(PLAN))).toBe(PLAN_BYTES);
    expect(decodePlan(unhex(PLAN_BYTES), 'golden plan')).toEqual(PLAN);
  });
  it('part: exact bytes, both ways; it names the plan by the BLAKE3-256 of the plan bytes', () => {
    expect(hex(PART.plan)).toBe('427180e3027da2de788da2b99376ba866ab7e194f36a2b4540b855713fe0ad80');
    expect(hex(encodePart(PART))).toBe(PART_BYTES);
    expect(decodePart(unhex(PART_BYTES), 'golden part')).toEqual(PART);
  });
});

const seg = fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/).filter((s) => s !== '.' && s !== '..');
const rel = fc.array(seg, { minLength: 1, maxLength: 3 }).map((a) => a.join('/'));
const meta = fc.dictionary(fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 });
const shareFile: fc.Arbitrary<ShareFile> = fc
  .record({ rel, size: fc.nat(), stagedSize: fc.nat(), framed: fc.boolean(), mtimeMs: fc.nat(), meta, sha256: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex), { nil: undefined }), against: fc.string({ maxLength: 30 }) })
  .map((f) => {
    if (f.sha256 === undefined) delete (f as Partial<ShareFile>).sha256;
    return f;
  });
const plan: fc.Arbitrary<BackupPlan> = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
  repo: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(hex),
  lock: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => `locks/${hex(b)}`),
  createdAt: fc.nat(),
  shares: fc.array(fc.array(shareFile, { maxLength: 5 }), { minLength: 1, maxLength: 6 }),
});
const entry: fc.Arbitrary<FileEntry> = fc.record({
  path: rel,
  kind: fc.constant('file' as const),
  size: fc.nat(),
  mode: fc.nat(0o7777),
  mtimeMs: fc.nat(),
  sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  chunks: fc.nat(4).chain((n) => fc.uint8Array({ minLength: n * 32, maxLength: n * 32 })),
  meta,
});
const part: fc.Arbitrary<BackupPart> = fc.integer({ min: 1, max: 256 }).chain((shares) => fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
  share: fc.nat(shares - 1),
  shares: fc.constant(shares),
  plan: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  files: fc.array(entry, { maxLength: 5 }),
  addedBytes: fc.nat(),
  startedAt: fc.nat(),
  completedAt: fc.nat(),
}));

describe('round trips and damage', () => {
  it('decode(encode(plan)) is the plan; decode(encode(part)) is the part', () => {
    fc.assert(fc.property(plan, (p) => {
      expect(decodePlan(encodePlan(p), 'p')).toEqual(p);
    }), { numRuns: 200 });
    fc.assert(fc.property(part, (p) => {
      expect(decodePart(encodePart(p), 'p')).toEqual(p);
    }), { numRuns: 200 });
  });

  it('any flipped byte, a cut object or the other kind is CORRUPT, never a different value', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(7), (at, bit) => {
        for (const [bytes, dec] of [[unhex(PLAN_BYTES), decodePlan], [unhex(PART_BYTES), decodePart]] as const) {
          const bad = bytes.slice();
          bad[at % bad.length] ^= 1 << bit;
          expect(codeOf(() => dec(bad, 'x'))).toBe('CORRUPT');
          expect(codeOf(() => dec(bytes.subarray(0, at % bytes.length), 'x'))).toBe('CORRUPT');
        }
      }),
      // [3, 0] turns the magic "MOBR" into "MOBS", an encrypted object's: still CORRUPT, not a password error.
      { numRuns: 200, examples: [[3, 0]] },
    );
    expect(codeOf(() => decodePart(unhex(PLAN_BYTES), 'x'))).toBe('CORRUPT');
    expect(codeOf(() => decodePlan(unhex(PART_BYTES), 'x'))).toBe('CORRUPT');
  });

  it('a sealed plan with an unsafe path or a wrong field is CORRUPT; a newer version is REPO_VERSION', () => {
    const row = { p: '../etc/passwd', s: 1, z: 1, f: false, t: 1, x: {}, a: '' };
    const body = { id: 'b', repo: 'r', lock: 'locks/x', createdAt: 1, shares: [[row]] };
    expect(codeOf(() => decodePlan(seal('P', 1, body), 'x'))).toBe('CORRUPT');
    expect(codeOf(() => decodePlan(seal('P', 1, { ...body, shares: [[{ ...row, p: 'tae/a', s: -1 }]] }), 'x'))).toBe('CORRUPT');
    expect(codeOf(() => decodePlan(seal('P', 1, { ...body, shares: [] }), 'x'))).toBe('CORRUPT');
    expect(codeOf(() => decodePlan(seal('P', 2, body), 'x'))).toBe('REPO_VERSION');
    expect(codeOf(() => decodePart(seal('S', 1, { id: 'b', share: 1, shares: 2, plan: new Uint8Array(31), files: [] }), 'x'))).toBe('CORRUPT');
    expect(codeOf(() => decodePart(seal('S', 1, { id: 'b', share: 2, shares: 2, plan: new Uint8Array(32), files: [] }), 'x'))).toBe('CORRUPT');
  });
});
