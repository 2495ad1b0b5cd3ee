import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { backupIdBlock, checkLine, checkingBanner, renderBackupTable, restoreHeader } from '../src/cli/format.js';
import type { BackupRecord } from '../src/cli/meta.js';
import { formatBytes, formatDuration, formatTime } from '../src/cli/units.js';
import { renderTable } from '../src/cli/table.js';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const CST = 480; // the spec's examples are at +0800

/** "2024-05-15 11:56:44.9" at +0800 -> ms since the epoch. */
function at(s: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(s)!;
  const ms = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4] - 8, +m[5], +m[6]) + ms;
}

function rec(id: string, size: number, dir: string, start: string, durationNs: number, end: string, backupTs = '', backupType: 'full' | 'incremental' = 'full'): BackupRecord {
  return { id, size, location: { backupDir: 'filesystem', path: dir }, atTime: at(start), durationNs, completeTime: at(end), backupTs, backupType };
}

/**
 * mo_br's table as the spec shows it: each record's PATH cell has three more lines in mobr (for
 * mo_ctl's `grep -A 4`, format.ts pathCell). Drops them, after checking they hold the path.
 */
function seedRows(table: string): string {
  const lines = table.split('\n');
  const borders = lines.flatMap((l, i) => (l.startsWith('+') ? [i] : []));
  const body = lines.slice(borders[1] + 1, borders[2]);
  const kept: string[] = [];
  for (let i = 0; i < body.length; i += 5) {
    const path = body[i + 1].split('|')[3].trim();
    expect(body[i + 3].split('|')[3].trim()).toMatch(/^Incremental --(file)?path:$/);
    expect(body[i + 4].split('|')[3].trim()).toBe(path);
    kept.push(body[i], body[i + 1]);
  }
  return [...lines.slice(0, borders[1] + 1), ...kept, ...lines.slice(borders[2])].join('\n');
}

describe('golden outputs from the spec examples', () => {
  const list6 = [
    rec('4d21b228-10dd-11ef-9497-26dd28356ef2', 586_000, '/Users/admin/soft/backup', '2024-05-13 12:00:12', 1_700_945_333, '2024-05-13 12:00:13'),
    rec('01108122-10f9-11ef-9359-26dd28356ef2', 8_300_000, '/Users/admin/soft/backup', '2024-05-13 15:18:28', 3_394_437_375, '2024-05-13 15:18:32'),
  ];
  const checkFiles = ['/backup_meta', '/mo_meta', 'hakeeper/hk_data', 'tae/tae_list', 'tae/tae_sum'];

  it('list (six columns)', () => {
    expect(seedRows(renderBackupTable(list6, { offsetMinutes: CST, sixColumns: true }))).toBe(golden('list-6col.txt'));
  });

  it('list ID: table, banner, check lines', () => {
    const files = [...checkFiles, 'config/log.toml_018f70d1-3100-7762-b28b-8f85ac4ed3cd', 'config/tn.toml_018f70d1-310e-78fc-ac96-aa5e06981bd7'];
    const out = seedRows(renderBackupTable([list6[0]], { offsetMinutes: CST, sixColumns: true })) + checkingBanner('exists') + files.map((f) => checkLine(f)).join('');
    expect(out).toBe(golden('list-id-6col.txt'));
  });

  it('check ID: a path longer than 30 columns widens the column', () => {
    const r = rec('1614f462-126c-11ef-9af3-26dd28356ef3', 126_000_000, '/Users/admin/soft/incbackup/back2', '2024-05-15 11:34:28', 22_455_633_916, '2024-05-15 11:34:50');
    const files = [...checkFiles, 'config/launch.toml_018f7a50-d300-7017-8580-150edf08733e'];
    const out = seedRows(renderBackupTable([r], { offsetMinutes: CST, sixColumns: true })) + checkingBanner('checksum') + files.map((f) => checkLine(f)).join('');
    expect(out).toBe(golden('check-id-6col.txt'));
  });

  it('backup prints the Backup ID block', () => {
    expect(backupIdBlock('25536ff0-126f-11ef-9902-26dd28356ef3')).toBe(golden('backup-id.txt'));
  });

  it('list with BACKUPTS and BACKUPTYPE (example 1)', () => {
    const r = rec('25536ff0-126f-11ef-9902-26dd28356ef3', 65_000_000, '/Users/admin/soft/backuppath/syncback1', '2024-05-15 11:56:44', 8_648_091_083, '2024-05-15 11:56:53', '1715745404915410000-1');
    expect(seedRows(renderBackupTable([r], { offsetMinutes: CST }))).toBe(golden('list-full.txt'));
  });

  it('list after a full and an incremental backup (example 2)', () => {
    const dir = '/Users/admin/soft/backuppath/syncback2';
    const rs = [
      rec('2289638c-1284-11ef-85e4-26dd28356ef3', 70_000_000, dir, '2024-05-15 14:26:59', 9_927_034_917, '2024-05-15 14:27:09', '1715754419668571000-1'),
      rec('81531c5a-1284-11ef-9ba3-26dd28356ef3', 72_000_000, dir, '2024-05-15 14:29:38', 2_536_263_666, '2024-05-15 14:29:41', '1715754578690660000-1', 'incremental'),
    ];
    expect(seedRows(renderBackupTable(rs, { offsetMinutes: CST }))).toBe(golden('list-incremental.txt'));
  });

  it('restore header', () => {
    const out = restoreHeader({ backupDir: 'filesystem', path: '/Users/admin/soft/backuppath/syncback1' }, { backupDir: 'filesystem', path: '/Users/admin/soft/matrixone' }, './mo-data/shared');
    expect(out).toBe(golden('restore-header.txt'));
  });
});

describe('units', () => {
  it('sizes like go-humanize Bytes', () => {
    const cases: [number, string][] = [
      [0, '0 B'], [9, '9 B'], [10, '10 B'], [999, '999 B'], [1000, '1.0 kB'], [1049, '1.0 kB'], [1050, '1.1 kB'],
      [9_949, '9.9 kB'], [9_950, '10 kB'], [585_600, '586 kB'], [8_300_000, '8.3 MB'], [65_000_000, '65 MB'],
      [125_500_000, '126 MB'], [12_500, '12 kB'], [13_500, '14 kB'], [1e9, '1.0 GB'], [1e12, '1.0 TB'],
    ];
    for (const [n, s] of cases) expect(formatBytes(n), String(n)).toBe(s);
  });

  it("durations like Go's time.Duration.String", () => {
    const cases: [number | bigint, string][] = [
      [0, '0s'], [1, '1ns'], [999, '999ns'], [1000, '1µs'], [549_000, '549µs'], [1_500, '1.5µs'], [1_000_000, '1ms'],
      [1_234_567, '1.234567ms'], [1_700_945_333, '1.700945333s'], [62_500_000_000, '1m2.5s'], [3_600_000_000_000, '1h0m0s'],
      [90_061_000_000_000n, '25h1m1s'], [-1_500_000_000, '-1.5s'], [60_000_000_000, '1m0s'],
    ];
    for (const [n, s] of cases) expect(formatDuration(n), String(n)).toBe(s);
  });

  it('times in the layout 2006-01-02 15:04:05 -0700', () => {
    expect(formatTime(at('2024-05-15 11:56:44.915'), 480)).toBe('2024-05-15 11:56:44 +0800');
    expect(formatTime(Date.UTC(2024, 0, 1, 0, 0, 0), -330)).toBe('2023-12-31 18:30:00 -0530');
    expect(formatTime(Date.UTC(2024, 0, 1), 0)).toBe('2024-01-01 00:00:00 +0000');
  });

  it('tables: every line has the same width and borders', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '/', 'µ'), maxLength: 70 }), { minLength: 3, maxLength: 3 }), { maxLength: 4 }), (rows) => {
        const lines = renderTable(['A', 'B C', 'D'], rows).split('\n');
        expect(lines.pop()).toBe('');
        const widths = new Set(lines.map((l) => [...l].length));
        expect(widths.size).toBe(1);
        for (const l of lines) expect(l[0] === '+' || l[0] === '|').toBe(true);
      }),
    );
  });
});
