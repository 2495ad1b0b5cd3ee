import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MobrError } from '../src/errors.js';
import { localFsFrame } from './helpers/mo-fixture.js';
import {
  digest,
  formatCsv,
  formatTS,
  parseCsv,
  parseMoMeta,
  parseSidecar,
  readSidecar,
  parseTaeList,
  parseTaeSum,
  parseTS,
  verifySidecar,
  writeMoMeta,
  writeTaeList,
  writeTaeSum,
  type MoMetaRow,
  type TaeFileEntry,
} from '../src/mo/layout.js';

const tsArb = fc.record({
  physical: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
  logical: fc.integer({ min: 0, max: 0xffffffff }),
});
const segArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
const pathArb = fc.array(segArb, { minLength: 1, maxLength: 3 }).map((a) => a.join('/'));
const hexArb = fc.uint8Array({ minLength: 0, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const entryArb: fc.Arbitrary<TaeFileEntry> = fc.record({
  path: pathArb,
  size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  checksum: hexArb,
  needCopy: fc.boolean(),
  ts: tsArb,
});
const metaArb: fc.Arbitrary<MoMetaRow> = fc.oneof(
  fc.record({ type: fc.constant('version' as const), version: fc.string() }),
  fc.record({ type: fc.constant('buildinfo' as const), buildinfo: fc.string() }),
  fc.record({
    type: fc.constant('launchconfig' as const),
    subtype: fc.constantFrom('cn' as const, 'dn' as const, 'log' as const, 'proxy' as const, 'launch' as const),
    file: segArb,
  }),
);
const dateArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 19).replace('T', ' '));

function onlyCorrupt(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MobrError);
    expect((e as MobrError).code).toBe('CORRUPT');
    expect((e as MobrError).message).not.toContain('\n');
  }
}

describe('MatrixOne TS', () => {
  it('parses the form mo_br list shows', () => {
    expect(parseTS('1715745404915410000-1')).toEqual({ physical: 1715745404915410000n, logical: 1 });
  });
  it('round-trips', () => fc.assert(fc.property(tsArb, (ts) => { expect(parseTS(formatTS(ts))).toEqual(ts); })));
  it('rejects junk', () => {
    for (const s of ['', '1', '-1', '1-', 'a-1', '1-1-1', '99999999999999999999-1', '1-4294967296']) {
      expect(() => parseTS(s)).toThrow(MobrError);
    }
  });
});

describe('CSV in Go encoding/csv dialect', () => {
  it('round-trips any fields', () =>
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 10 }), (rows) => {
        // an all-empty record is a blank line, which Go's reader skips too
        const kept = rows.filter(([a, b]) => a !== '' || b !== '');
        expect(parseCsv(formatCsv(kept), 'x', 2)).toEqual(kept);
      }),
    ));
  it('quotes like Go', () => {
    expect(formatCsv([['a,b', 'say "hi"', ' lead', '']])).toBe('"a,b","say ""hi"""," lead",\n');
    // Go quotes a field whose first rune unicode.IsSpace calls a space (U+0085 yes, U+FEFF no) and exactly `\.`
    expect(formatCsv([['\u0085x', '\ufeffx', '\u3000x', '\\.', 'a\\.', '\\.b']])).toBe('"\u0085x",\ufeffx,"\u3000x","\\.",a\\.,\\.b\n');
  });
});

describe('mo_meta', () => {
  it('reads what MatrixOne writes', () => {
    const text = 'version,0823,\nbuildinfo,GoVersion: go1.22|BranchName: main,\nlaunchconfig,log,log.toml_018f70d1-3100-7762-b28b-8f85ac4ed3cd\n';
    expect(parseMoMeta(text)).toEqual([
      { type: 'version', version: '0823' },
      { type: 'buildinfo', buildinfo: 'GoVersion: go1.22|BranchName: main' },
      { type: 'launchconfig', subtype: 'log', file: 'log.toml_018f70d1-3100-7762-b28b-8f85ac4ed3cd' },
    ]);
  });
  it('write -> parse keeps rows (sorted by type)', () =>
    fc.assert(
      fc.property(fc.array(metaArb, { maxLength: 8 }), (rows) => {
        const order = { version: 0, buildinfo: 1, launchconfig: 2 };
        const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => order[a.r.type] - order[b.r.type] || a.i - b.i).map((x) => x.r);
        const text = writeMoMeta(rows);
        // a version/buildinfo row with an empty value writes an all-empty-looking line only if type is empty: never
        expect(parseMoMeta(text)).toEqual(sorted);
      }),
    ));
  it('names file and line on damage', () => {
    expect(() => parseMoMeta('version,0823,\nbogus,x,y\n')).toThrow(/mo_meta line 2/);
  });
});

describe('tae_list and tae_sum', () => {
  it('round-trip', () => {
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 20 }), (es) => { expect(parseTaeList(writeTaeList(es))).toEqual(es); }));
    fc.assert(
      fc.property(dateArb, fc.nat({ max: Number.MAX_SAFE_INTEGER }), tsArb, fc.constantFrom('', 'full', 'incremental'), (backupTime, size, backupTS, type) => {
        const s = { backupTime, size, backupTS, type };
        expect(parseTaeSum(writeTaeSum(s))).toEqual(s);
      }),
    );
  });
  it('3-field rows and 2-field sums of servers before v1.2 round-trip too; a file never mixes forms', () => {
    const oldArb = entryArb.map(({ ts: _ts, ...e }) => ({ ...e, needCopy: true }));
    fc.assert(fc.property(fc.array(oldArb, { minLength: 1, maxLength: 20 }), (es) => { expect(parseTaeList(writeTaeList(es))).toEqual(es); }));
    fc.assert(
      fc.property(dateArb, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (backupTime, size) => {
        expect(parseTaeSum(`${backupTime},${size}\n`)).toEqual({ backupTime, size });
      }),
    );
    expect(parseTaeList('obj_00000,12,ab\n')).toEqual([{ path: 'obj_00000', size: 12, checksum: 'ab', needCopy: true }]);
    expect(() => parseTaeList('a_00000,1,,true,1-1\nb_00000,1,\n')).toThrow(/tae\/tae_list line 2: expected 5 fields, found 3/);
    expect(() => parseTaeList('a_00000,1,,true\n')).toThrow(/expected 5 or 3 fields, found 4/);
    expect(() => parseTaeSum('2024-05-15 03:56:44,1,1-1\n')).toThrow(/expected 4 or 2 fields, found 3/);
  });
  it('checksum-less needCopy=true rows (merged ckp meta, rewritten _01000 objects) parse', () => {
    const rows = parseTaeList('ckp/meta_0-0_1715745404915410000-1.ckp,300,,true,1715745404915410000-1\n018f7a41-1881-7999-bbd6-858c3d4acc18_01000,3000,,true,1715745404915410000-1\n');
    expect(rows.map((r) => [r.checksum, r.needCopy])).toEqual([['', true], ['', true]]);
  });
  it('reads a needCopy=false row with an empty checksum', () => {
    const [e] = parseTaeList('018f7a41-1881-7999-bbd6-858c3d4acc18_00000,1234,,false,1715745404915410000-1\n');
    expect(e).toMatchObject({ size: 1234, checksum: '', needCopy: false });
  });
  it('rejects paths that escape tae/', () => {
    expect(() => parseTaeList('../x,1,,true,1-1\n')).toThrow(/tae\/tae_list line 1/);
  });
});

describe('sidecars', () => {
  it('raw (32 bytes) and LocalFS-framed (36 bytes) give the same digest; a damaged frame is CORRUPT', () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat({ max: 35 }), (d, pos) => {
        const hex = Buffer.from(d).toString('hex');
        expect(readSidecar(d, 'sha256', 'tae/tae_list')).toBe(hex);
        const framed = localFsFrame(d);
        expect(framed.length).toBe(36);
        expect(readSidecar(framed, 'sha256', 'tae/tae_list')).toBe(hex);
        framed[pos] ^= 0x40;
        expect(() => readSidecar(framed, 'sha256', 'tae/tae_list')).toThrow(/^tae\/tae_list\.sha256: checksum block 0 does not match its CRC32C$/);
        onlyCorrupt(() => readSidecar(framed.subarray(0, 35), 'sha256', 'x'));
      }),
    ));
  it('a framed sidecar as a DISK backup target writes it (literal vector)', () => {
    const framed = Buffer.from('930a26b6c42e5b646c581011b657f442efdccc71f4404dda66fbba272fce1278a92b9d9f', 'hex');
    expect(readSidecar(framed, 'sha256', 'tae/tae_sum')).toBe('c42e5b646c581011b657f442efdccc71f4404dda66fbba272fce1278a92b9d9f');
  });
  it('verify sha256 and md5', () => {
    const data = new TextEncoder().encode('hello');
    for (const algo of ['sha256', 'md5'] as const) {
      verifySidecar(data, digest(algo, data), algo, 'mo_meta');
      expect(() => verifySidecar(new Uint8Array([1]), digest(algo, data), algo, 'mo_meta')).toThrow(/mo_meta/);
    }
    expect(() => parseSidecar(new Uint8Array(16), 'sha256', 'f')).toThrow(/f\.sha256/);
  });
});

describe('fuzz: random bytes only ever give CORRUPT', () => {
  it('all parsers', () =>
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 300 }).map((s) => new TextEncoder().encode(s))), (b) => {
        onlyCorrupt(() => parseMoMeta(b));
        onlyCorrupt(() => parseTaeList(b));
        onlyCorrupt(() => parseTaeSum(b));
        onlyCorrupt(() => parseSidecar(b, 'sha256', 'x'));
        onlyCorrupt(() => parseTS(Buffer.from(b).toString('latin1')));
      }),
      { numRuns: 2000 },
    ));
  it('mutated valid files', () =>
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (es, pos, byte) => {
        const b = new TextEncoder().encode(writeTaeList(es));
        b[pos % b.length] = byte;
        onlyCorrupt(() => parseTaeList(b));
      }),
      { numRuns: 1000 },
    ));
});
