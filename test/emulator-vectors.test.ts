/**
 * The emulator's formats pinned by hand-written byte vectors taken from MatrixOne's source and
 * the shared spec (never produced by mobr's code): CRC-32C, LocalFS framing and its block
 * boundaries, tae_list / tae_sum / mo_meta lines of both row formats, hk_data's protobuf, and
 * the BACKUP statement of both grammars.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { crc32c } from './emulator/crc32c.js';
import { csvLine, readCsv } from './emulator/csv.js';
import { decodeBackupData, encodeBackupData } from './emulator/hakeeper.js';
import { dateTimeUTC, moMeta, taeList, taeSum } from './emulator/layout.js';
import { contentSize, frame, unframe } from './emulator/localfs.js';
import { serverVersion } from './emulator/version.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const v112 = serverVersion('1.1.2');
const v120 = serverVersion('1.2.0');

describe('CRC-32C and LocalFS framing (pkg/fileservice/file_with_checksum.go)', () => {
  it('crc32c vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.from('hello'))).toBe(0x9a71bb4c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('`hello` frames to 4cbb719a68656c6c6f; an empty file stays empty', () => {
    expect(hex(frame(Buffer.from('hello')))).toBe('4cbb719a68656c6c6f');
    expect(frame(Buffer.alloc(0)).length).toBe(0);
  });

  it('block boundaries: 2044 bytes fill one block, 2045 start a second, 4088 fill two', () => {
    const a = (n: number) => Buffer.alloc(n, 0x61);
    const f2044 = frame(a(2044));
    expect(f2044.length).toBe(2048);
    expect(hex(f2044.subarray(0, 4))).toBe('a8e2ff1f'); // crc32c of 2044 'a', little-endian
    const f2045 = frame(a(2045));
    expect(f2045.length).toBe(2053);
    expect(hex(f2045.subarray(2048))).toBe('3043d0c161'); // crc32c('a') LE, then 'a'
    const f4088 = frame(a(4088));
    expect(f4088.length).toBe(4096);
    expect(hex(f4088.subarray(2048, 2052))).toBe('a8e2ff1f');
    expect([2048, 2053, 4096].map(contentSize)).toEqual([2044, 2045, 4088]);
  });

  it('framing round-trips, agrees with a native CRC-32C, and raw or damaged bytes are "checksum not match"', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 7000 }), (data) => {
        const f = frame(data);
        expect(f.length).toBe(data.length + 4 * Math.ceil(data.length / 2044));
        expect(crc32c(data)).toBe(nativeCrc32c(Buffer.from(data)));
        for (let o = 0; o < f.length; o += 2048) expect(f.readUInt32LE(o)).toBe(nativeCrc32c(f.subarray(o + 4, Math.min(o + 2048, f.length))));
        expect(hex(unframe(f))).toBe(hex(data));
        if (data.length > 0) {
          const bad = Buffer.from(f);
          bad[bad.length - 1]! ^= 1;
          expect(() => unframe(bad)).toThrow('internal error: checksum not match');
        }
      }),
      { numRuns: 60 },
    );
    expect(() => unframe(Buffer.from('a raw file, never framed'))).toThrow('checksum not match');
  });
});

describe('backup text files (pkg/backup/types.go, Go encoding/csv)', () => {
  const sum = Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex');
  const ts = { physical: 1715745404915410000n, logical: 1 };
  it('tae_list rows of v1.2+ (5 fields) and before (3 fields); a row without checksum', () => {
    const rows = [
      { path: '018f7a41-1881-7999-bbd6-858c3d4acc18_00000', size: 1234, checksum: sum, needCopy: true, ts },
      { path: 'ckp/meta_1715745404915410000-2_1715745404999000000-1.ckp', size: 77, needCopy: true, ts },
      { path: '018f7a41-1881-7999-bbd6-858c3d4acc18_01000', size: 99, needCopy: false, ts: { physical: 0n, logical: 0 } },
    ];
    expect(taeList(rows, v120)).toBe(
      '018f7a41-1881-7999-bbd6-858c3d4acc18_00000,1234,9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,true,1715745404915410000-1\n' +
        'ckp/meta_1715745404915410000-2_1715745404999000000-1.ckp,77,,true,1715745404915410000-1\n' +
        '018f7a41-1881-7999-bbd6-858c3d4acc18_01000,99,,false,0-0\n',
    );
    expect(taeList(rows.slice(0, 2), v112)).toBe(
      '018f7a41-1881-7999-bbd6-858c3d4acc18_00000,1234,9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n' +
        'ckp/meta_1715745404915410000-2_1715745404999000000-1.ckp,77,\n',
    );
  });

  it('tae_sum: UTC time, size, BACKUPTS, TYPE verbatim (v1.2+); time, size before', () => {
    const t = dateTimeUTC(new Date('2024-05-15T03:56:44.915Z'));
    expect(t).toBe('2024-05-15 03:56:44');
    expect(taeSum(t, 1311, ts, '', v120)).toBe('2024-05-15 03:56:44,1311,1715745404915410000-1,\n');
    expect(taeSum(t, 1311, ts, 'incremental', v120)).toBe('2024-05-15 03:56:44,1311,1715745404915410000-1,incremental\n');
    expect(taeSum(t, 1311, ts, ' Odd,"type"', v120)).toBe('2024-05-15 03:56:44,1311,1715745404915410000-1," Odd,""type"""\n');
    expect(taeSum(t, 1311, ts, 'incremental', v112)).toBe('2024-05-15 03:56:44,1311\n');
  });

  it('mo_meta and Go csv quoting', () => {
    expect(moMeta('GoVersion: go1.22.3|Version: v1.2.0', [{ subtype: 'dn', file: 'tn.toml_018f' }])).toBe(
      'version,0823,\nbuildinfo,GoVersion: go1.22.3|Version: v1.2.0,\nlaunchconfig,dn,tn.toml_018f\n',
    );
    expect(csvLine(['a', '', 'b c', ' lead', 'x\ny', '\\.'])).toBe('a,,b c," lead","x\ny","\\."\n');
    fc.assert(fc.property(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 4 }), { maxLength: 5 }), (rows) => {
      expect(readCsv(rows.map(csvLine).join(''))).toEqual(rows);
    }));
  });

  it('hk_data is protobuf BackupData; an empty one is refused as the log service refuses it', () => {
    expect(hex(encodeBackupData({ nextID: 1000n, nextIDByKey: {} }))).toBe('08e807');
    expect(hex(encodeBackupData({ nextID: 1n, nextIDByKey: { k: 5n } }))).toBe('08011205' + '0a016b1005');
    expect(decodeBackupData(Buffer.from('08011205' + '0a016b1005', 'hex'))).toEqual({ nextID: 1n, nextIDByKey: { k: 5n } });
    expect(() => decodeBackupData(Buffer.alloc(0))).toThrow('no ID watermarks');
    expect(() => decodeBackupData(Buffer.from('not protobuf'))).toThrow();
  });
});
