/**
 * mo_br.meta as the operator and mo_ctl read and write it: one CSV line per backup, the ID
 * first (SplitN(line, ",", 2)[0], awk -F,), `mo_br.meta.sha256` made by `sha256sum`, a line
 * that went through the operator's unquoted `echo $RAW_META`, the two-file write interrupted
 * between its renames, and the former JSON catalog converted on first use.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { Catalog, metaChecksum, parseMeta, serializeMeta, type BackupRecord } from '../src/cli/meta.js';
import { serializeLegacyMeta } from '../src/cli/meta-json.js';
import { SHOWN_COLUMNS } from '../src/cli/meta-line.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'mobr-meta-format-'));
const sh = (script: string, cwd: string) => execFileSync('bash', ['-c', script], { cwd, encoding: 'utf8' });

const uuid = (i: number) => `${i.toString(16).padStart(8, '0')}-126f-11ef-9902-26dd28356ef3`;

function record(i: number, extra: Partial<BackupRecord> = {}): BackupRecord {
  return {
    id: uuid(i),
    size: 8_230_000 + i,
    location: { backupDir: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'bucket1', filepath: '/backup 1', isMinio: true },
    atTime: 1_715_745_404_915 + i,
    durationNs: 8_648_091_083,
    completeTime: 1_715_745_413_563 + i,
    backupTs: '1715745404915410000-1',
    backupType: 'full',
    source: 'matrixone 127.0.0.1:6001',
    ...extra,
  };
}

const recordArb = fc.record({
  i: fc.nat(1 << 30),
  size: fc.nat(),
  type: fc.constantFrom('full' as const, 'incremental' as const),
  s3: fc.boolean(),
  text: fc.string({ unit: 'grapheme', maxLength: 20 }),
  base: fc.option(fc.nat(1 << 30), { nil: undefined }),
});
const toRecord = (r: { i: number; size: number; type: 'full' | 'incremental'; s3: boolean; text: string; base?: number }) =>
  record(r.i, {
    size: r.size,
    backupType: r.type,
    baseId: r.base === undefined ? undefined : uuid(r.base),
    source: r.text === '' ? undefined : r.text,
    location: r.s3 ? { backupDir: 's3', bucket: 'b,1', filepath: r.text, isMinio: false, region: 'cn "north"' } : { backupDir: 'filesystem', path: `/x/${r.text}, *?[a]` },
  });

describe('mo_br.meta lines', () => {
  it('the ID is the first field for SplitN(line, ",", 2)[0] and awk -F, whatever the other fields hold', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 6 }), (rows) => {
        const records = rows.map(toRecord);
        const text = serializeMeta(records);
        const lines = text.split('\n').slice(0, -1);
        expect(lines.map((l) => l.split(',', 2)[0])).toEqual(records.map((r) => r.id));
        expect(parseMeta(text, 'm', metaChecksum(text))).toEqual(records.map(stripUndefined));
      }),
      { numRuns: 200 },
    );
    const dir = tmp();
    const records = [record(1, { location: { backupDir: 'filesystem', path: '/b, "x"' } }), record(2)];
    writeFileSync(path.join(dir, 'mo_br.meta'), serializeMeta(records));
    // mo_ctl's exact pipeline (bin/auto_backup.sh): the newest backup is the last line.
    expect(sh(`tail -n 1 mo_br.meta | awk -F "," '{print $1}'`, dir)).toBe(`${records[1].id}\n`);
    expect(sh(`head -n 1 mo_br.meta | awk -F "," '{print $1}'`, dir)).toBe(`${records[0].id}\n`);
  });

  it('the shown columns come first, in the table order, as the table shows them', () => {
    const line = serializeMeta([record(1)]).trimEnd().split(',');
    expect(SHOWN_COLUMNS).toEqual(['ID', 'SIZE', 'PATH', 'AT TIME', 'DURATION', 'COMPLETE TIME', 'BACKUPTS', 'BACKUPTYPE']);
    expect(line.slice(0, 2)).toEqual([uuid(1), '8.2 MB']);
    expect(line[2]).toBe('BackupDir: s3  Endpoint: http://127.0.0.1:9000  Bucket: bucket1  FilePath: /backup 1');
    expect(line[3]).toMatch(/^2024-05-1[45] \d\d:\d\d:44 [+-]\d{4}$/);
    expect(line.slice(4, 9)).toEqual(['8.648091083s', line[5], '1715745404915410000-1', 'full', 'mobr1']);
  });

  it("survives the operator's restore: echo $RAW_META > /mo_br.meta, sidecar by sha256sum", async () => {
    const dir = tmp();
    const rec = record(7, { location: { backupDir: 's3', endpoint: 'http://minio:9000', bucket: 'b', filepath: 'a  b*', isMinio: true } });
    const raw = serializeMeta([rec]).trim(); // the operator stores the trimmed output of `cat /mo_br.meta`
    // With RAW_META empty, the file is one newline: no backup.
    execFileSync('bash', ['-c', `echo $RAW_META > mo_br.meta && sha256sum mo_br.meta | awk '{printf "%s",$1}' > mo_br.meta.sha256`], { cwd: dir, env: { ...process.env, RAW_META: '' } });
    expect(await new Catalog(path.join(dir, 'mo_br.meta')).read()).toEqual([]);
    execFileSync('bash', ['-c', `echo $RAW_META > mo_br.meta && sha256sum mo_br.meta | awk '{printf "%s",$1}' > mo_br.meta.sha256`], { cwd: dir, env: { ...process.env, RAW_META: raw } });
    const written = readFileSync(path.join(dir, 'mo_br.meta'), 'utf8');
    expect(written).not.toBe(`${raw}\n`); // echo collapsed the PATH cell's double spaces
    expect(readFileSync(path.join(dir, 'mo_br.meta.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(await new Catalog(path.join(dir, 'mo_br.meta')).read()).toEqual([rec]);
  });

  it('reads a line written by another tool from its shown columns', () => {
    const line = `${uuid(3)},65 MB,"BackupDir: filesystem  Path: /Users/admin/soft/backuppath/syncback1",2024-05-15 11:56:44 +0800,8.648091083s,2024-05-15 11:56:53 +0800,1715745404915410000-1,full\n`;
    const [r] = parseMeta(line, 'm', metaChecksum(line));
    expect(r).toEqual({
      id: uuid(3),
      size: 65_000_000,
      location: { backupDir: 'filesystem', path: '/Users/admin/soft/backuppath/syncback1' },
      atTime: Date.UTC(2024, 4, 15, 3, 56, 44),
      durationNs: 8_648_091_083,
      completeTime: Date.UTC(2024, 4, 15, 3, 56, 53),
      backupTs: '1715745404915410000-1',
      backupType: 'full',
    });
    expect(() => parseMeta('{"format":"mobr.meta"\n', 'm')).toThrow(/damaged/);
    expect(() => parseMeta('not an id,1,2\n', 'm')).toThrow(/^meta file m line 1: the first field is not a backup ID$/);
  });
});

function stripUndefined(r: BackupRecord): BackupRecord {
  return JSON.parse(JSON.stringify(r)) as BackupRecord;
}

describe('the meta file and its sidecar on disk', () => {
  it('a write interrupted between its two renames is accepted, and finished by the next write', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mo_br.meta');
    const c = new Catalog(file);
    await c.add(record(1));
    // The state a crash between the renames leaves: the new file, the old sidecar, and .sha256.next.
    const newer = serializeMeta([record(1), record(2)]);
    writeFileSync(`${file}.sha256.next`, metaChecksum(newer));
    writeFileSync(`${file}.next`, newer);
    renameSync(`${file}.next`, file);
    expect((await c.read()).map((r) => r.id)).toEqual([uuid(1), uuid(2)]);
    await c.add(record(3));
    expect(readdirSync(dir).sort()).toEqual(['mo_br.meta', 'mo_br.meta.sha256']);
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(metaChecksum(readFileSync(file)));
    // A leftover .sha256.next that does not match does not excuse a changed file.
    writeFileSync(`${file}.sha256.next`, metaChecksum('something else'));
    writeFileSync(file, readFileSync(file, 'utf8').replace('full', 'incremental'));
    await expect(c.read()).rejects.toMatchObject({ code: 'CORRUPT_META' });
  });

  it('a crash before the first rename leaves the old pair, which reads and is written over', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mo_br.meta');
    const c = new Catalog(file);
    await c.add(record(1));
    writeFileSync(`${file}.next`, serializeMeta([record(1), record(2)]).slice(0, 50)); // half written
    writeFileSync(`${file}.sha256.next`, 'ab');
    expect((await c.read()).map((r) => r.id)).toEqual([uuid(1)]);
    await c.add(record(2));
    expect((await c.read()).map((r) => r.id)).toEqual([uuid(1), uuid(2)]);
    expect(readdirSync(dir).sort()).toEqual(['mo_br.meta', 'mo_br.meta.sha256']);
  });

  it('a JSON catalog (the former layout) is converted on first use, keeping a copy', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mo_br.meta');
    const old = serializeLegacyMeta([record(1), record(2, { baseId: uuid(1), backupType: 'incremental' })]);
    writeFileSync(file, old);
    const c = new Catalog(file);
    const records = await c.read();
    expect(records.map((r) => r.id)).toEqual([uuid(1), uuid(2)]);
    expect(readFileSync(`${file}.json.bak`, 'utf8')).toBe(old);
    const now = readFileSync(file, 'utf8');
    expect(now.split('\n')[0].split(',', 2)[0]).toBe(uuid(1));
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(metaChecksum(now));
    expect(await new Catalog(file).read()).toEqual(records);
    // A second old catalog converted later keeps the first copy too.
    writeFileSync(file, old);
    await c.add(record(3));
    expect(readdirSync(dir).filter((f) => f.startsWith('mo_br.meta.json.bak'))).toHaveLength(2);
    expect(existsSync(`${file}.next`)).toBe(false);
  });
});
