/** Retention: restic's keep_last/daily/weekly/monthly, dry run, then delete + gc. */
import { describe, expect, it } from 'vitest';
import { planRetention, prune, weekKey } from '../src/repo/prune.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';

const at = (s: string) => new Date(s).getTime(); // local time
const backups = [
  ['a', '2026-01-01T10:00'], ['b', '2026-01-15T10:00'], ['c', '2026-02-01T10:00'], ['d', '2026-02-02T09:00'],
  ['e', '2026-02-02T18:00'], ['f', '2026-02-03T10:00'], ['g', '2026-02-10T10:00'],
].map(([id, t]) => ({ id, completedAt: at(t) }));

describe('retention', () => {
  it('ISO weeks', () => {
    expect(weekKey(new Date(2026, 0, 1))).toBe('2026-W01');
    expect(weekKey(new Date(2027, 0, 1))).toBe('2026-W53');
    expect(weekKey(new Date(2024, 11, 30))).toBe('2025-W01');
  });

  it('keep_last keeps the newest n', () => {
    const p = planRetention(backups, { keepLast: 2 });
    expect(p.keep.map((x) => x.id)).toEqual(['g', 'f']);
    expect(p.remove.map((x) => x.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('daily keeps the newest of each day; rules add up with reasons', () => {
    const p = planRetention(backups, { keepDaily: 3, keepMonthly: 3 });
    expect(p.keep.map((x) => x.id)).toEqual(['g', 'f', 'e', 'b']);
    expect(p.keep.find((x) => x.id === 'g')!.reasons).toEqual(['daily 2026-02-10', 'monthly 2026-02']);
    expect(p.keep.find((x) => x.id === 'b')!.reasons).toEqual(['monthly 2026-01']);
    const w = planRetention(backups, { keepWeekly: 2 });
    expect(w.keep.map((x) => x.id)).toEqual(['g', 'f']); // 2026-W07, 2026-W06
  });

  it('refuses an empty policy (it would delete everything)', () => {
    expect(() => planRetention(backups, {})).toThrow(/no retention rule/);
  });

  it('dry run lists what would go and changes nothing; a real run deletes and gcs', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, { packSize: 32 * 1024 });
    for (const b of backups) await repo.saveManifest({ version: 1, id: b.id, type: 'full', startedAt: b.completedAt, completedAt: b.completedAt, source: {}, files: [], logicalSize: 0, addedBytes: 0 });
    const dry = await prune(repo, { keepLast: 3 }, { dryRun: true });
    expect(dry.remove.map((x) => x.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(await repo.listBackupIds()).toHaveLength(7);
    const real = await prune(repo, { keepLast: 3 }, { safetyWindowMs: 0 });
    expect(real.gc).toBeTypeOf('object');
    expect(await repo.listBackupIds()).toEqual(['e', 'f', 'g']);
  });
});
