/**
 * Retention as restic's (issue #24): --keep_hourly, --keep_yearly and --keep_within beside the
 * other rules, and `latest` wherever a backup ID is taken, through ./mo_br and the planner.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWithin, planRetention, withinCutoff } from '../src/repo/prune.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const ids = (p: { id: string }[]) => p.map((x) => x.id).sort();

describe('retention rules (planRetention)', () => {
  const backups = [
    { id: 'a', completedAt: at(2024, 3, 1) },
    { id: 'b', completedAt: at(2025, 6, 1) },
    { id: 'c', completedAt: at(2025, 12, 31, 23, 0) },
    { id: 'd', completedAt: at(2026, 5, 14, 9, 0) },
    { id: 'e', completedAt: at(2026, 5, 14, 9, 50) },
    { id: 'f', completedAt: at(2026, 5, 14, 10, 5) },
  ];

  it('keep_hourly: the newest of each of the last n hours that have a backup', () => {
    const p = planRetention(backups, { keepHourly: 2 });
    expect(ids(p.keep)).toEqual(['e', 'f']);
    expect(p.keep.find((k) => k.id === 'e')!.reasons).toEqual(['hourly 2026-05-14 09h']);
  });

  it('keep_yearly: the newest of each of the last n years', () => {
    expect(ids(planRetention(backups, { keepYearly: 3 }).keep)).toEqual(['a', 'c', 'f']);
    expect(planRetention(backups, { keepYearly: 1 }).keep[0].reasons).toEqual(['yearly 2026']);
  });

  it('keep_within: every backup within the duration before the newest one (calendar months and years)', () => {
    expect(parseWithin('1y2m3d4h')).toEqual([1, 2, 3, 4]);
    expect(parseWithin('36h')).toEqual([0, 0, 0, 36]);
    expect(() => parseWithin('3w')).toThrow(/bad --keep_within "3w"/);
    expect(() => parseWithin('')).toThrow(/bad --keep_within/);
    expect(withinCutoff(at(2026, 3, 31), '1m')).toBe(new Date(2026, 1, 31, 12).getTime()); // as Go's AddDate: Feb 31 = Mar 3
    expect(ids(planRetention(backups, { keepWithin: '1h' }).keep)).toEqual(['e', 'f']);
    expect(ids(planRetention(backups, { keepWithin: '5m' }).keep)).toEqual(['c', 'd', 'e', 'f']);
    expect(ids(planRetention(backups, { keepWithin: '2y' }).keep)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].filter((x) => x !== 'a'));
    expect(planRetention(backups, { keepWithin: '1h' }).keep.find((k) => k.id === 'f')!.reasons).toEqual(['within 1h']);
  });

  it('rules add up; no rule at all is refused', () => {
    expect(ids(planRetention(backups, { keepLast: 1, keepYearly: 2, keepWithin: '1h' }).keep)).toEqual(['c', 'e', 'f']);
    expect(() => planRetention(backups, {})).toThrow(/--keep_hourly.*--keep_yearly, --keep_within/);
  });
});

describe('through ./mo_br: prune rules and latest', () => {
  let root: string;
  const backupIds: string[] = [];
  const meta = () => ['--meta_path', path.join(root, 'mo_br.meta')];
  const run = (args: string[]) => mobr([...meta(), ...args], root, { env: { NO_COLOR: '1' } });

  beforeAll(async () => {
    ensureBuilt();
    root = await tempDir('mobr-nightly-retention-');
    for (let i = 0; i < 3; i++) {
      await writeTree(path.join(root, 'data'), [{ path: 'f.bin', data: pseudoRandom(i, 20_000), mode: 0o644 }]);
      const r = await run(['backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo']);
      expect(r.code).toBe(0);
      backupIds.push(/[0-9a-f-]{36}/.exec(r.stdout)![0]);
    }
  });
  afterAll(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('prune --keep_within / --keep_hourly / --keep_yearly --dry_run say what each keeps', async () => {
    const within = await run(['prune', '--keep_within', '1h', '--dry_run', '--json']);
    expect(within.code).toBe(0);
    const keep = JSON.parse(within.stdout).repositories[0].plan.keep;
    expect(keep.map((k: { id: string }) => k.id).sort()).toEqual([...backupIds].sort());
    expect(keep[0].reasons).toEqual(['within 1h']);
    const hourly = await run(['prune', '--keep_hourly', '1', '--keep_yearly', '1', '--dry_run']);
    expect(hourly.code).toBe(0);
    expect(hourly.stdout).toMatch(new RegExp(`keep    ${backupIds[2]}  \\S+  hourly \\d{4}-\\d\\d-\\d\\d \\d\\dh, yearly \\d{4}`));
    expect(hourly.stdout.match(/would remove/g)).toHaveLength(2);
    const bad = await run(['prune', '--keep_within', '2weeks']);
    expect([bad.code, bad.stderr]).toEqual([2, 'mo_br: bad --keep_within "2weeks": want a duration like 7d, 36h or 1y6m (y, m, d, h)\n']);
  });

  it('latest names the newest backup: list, check by place, an incremental base, and refused when there is none', async () => {
    const list = await run(['list', 'latest', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).backup.id).toBe(backupIds[2]);
    const check = await run(['check', 'latest', '--backup_dir', 'filesystem', '--backup_path', 'repo']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(backupIds[2]);
    const inc = await run(['backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo', '--backup_type', 'incremental', '--base_id', 'latest', '--json']);
    expect(inc.code).toBe(0);
    expect(JSON.parse(inc.stdout).backup).toMatchObject({ baseId: backupIds[2] });
    const none = await mobr(['--meta_path', path.join(root, 'empty.meta'), 'restore', 'latest', '--restore_dir', 'filesystem', '--restore_path', 'out'], root);
    expect([none.code, none.stderr]).toEqual([3, `mo_br: no backups in ${path.join(root, 'empty.meta')}: "latest" names none\n`]);
  });
});
