/**
 * Retention (spec/gc.md §4), restic's semantics: backups newest first by completedAt; keep_last n
 * keeps the n newest; keep_daily / weekly / monthly n keep the newest backup of each of the n most
 * recent days / ISO weeks / months (local time) that have one. Kept by any rule = kept.
 */
import { MobrError } from '../errors.js';
import { deleteBackup, gc, type GcOptions, type GcReport } from './gc.js';
import type { Repository } from './repository.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface BackupTime {
  id: string;
  completedAt: number;
}

export interface Decision extends BackupTime {
  reasons: string[]; // why kept ("last", "daily 2026-05-14", …); empty when removed
}

export interface PrunePlan {
  keep: Decision[];
  remove: Decision[];
}

const pad = (n: number) => String(n).padStart(2, '0');
const dayKey = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const monthKey = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;

/** ISO 8601 week ("2026-W20") of a local date. */
export function weekKey(d: Date): string {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  t.setUTCDate(t.getUTCDate() + 4 - (t.getUTCDay() || 7)); // the Thursday of its week decides the year
  const week = Math.ceil(((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

export function planRetention(backups: BackupTime[], p: RetentionPolicy): PrunePlan {
  const rules: [string, number | undefined, (d: Date, b: BackupTime) => string][] = [
    ['last', p.keepLast, (_d, b) => b.id],
    ['daily', p.keepDaily, dayKey],
    ['weekly', p.keepWeekly, weekKey],
    ['monthly', p.keepMonthly, monthKey],
  ];
  for (const [name, n] of rules) if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new MobrError('BAD_INPUT', `bad keep_${name} ${n}: want a whole number`);
  if (!rules.some(([, n]) => (n ?? 0) > 0)) throw new MobrError('BAD_INPUT', 'no retention rule: give at least one of --keep_last, --keep_daily, --keep_weekly, --keep_monthly');
  const sorted = [...backups].sort((a, b) => b.completedAt - a.completedAt || (a.id < b.id ? 1 : -1));
  const left = rules.map(([, n]) => n ?? 0);
  const last: (string | undefined)[] = rules.map(() => undefined);
  const keep: Decision[] = [];
  const remove: Decision[] = [];
  for (const b of sorted) {
    const d = new Date(b.completedAt);
    const reasons: string[] = [];
    rules.forEach(([name, , key], i) => {
      const k = key(d, b);
      if (left[i] > 0 && k !== last[i]) {
        left[i]--;
        last[i] = k;
        reasons.push(name === 'last' ? 'last' : `${name} ${k}`);
      }
    });
    (reasons.length > 0 ? keep : remove).push({ ...b, reasons });
  }
  return { keep, remove };
}

export interface PruneResult extends PrunePlan {
  dryRun: boolean;
  gc?: GcReport | 'deferred';
}

/** Applies a policy to every backup of repo: deletes the rest, then one gc (unless dryRun). */
export async function prune(repo: Repository, policy: RetentionPolicy, o: GcOptions = {}): Promise<PruneResult> {
  const times: BackupTime[] = [];
  for (const id of await repo.listBackupIds()) times.push({ id, completedAt: (await repo.loadManifest(id)).completedAt });
  const plan = planRetention(times, policy);
  if (o.dryRun) return { ...plan, dryRun: true };
  for (const r of plan.remove) await deleteBackup(repo, r.id);
  let report: GcReport | 'deferred';
  try {
    report = await gc(repo, o);
  } catch (e) {
    if ((e as { code?: string }).code !== 'LOCKED') throw e;
    report = 'deferred';
  }
  return { ...plan, dryRun: false, gc: report };
}
