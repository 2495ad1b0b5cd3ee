/**
 * Retention (spec/gc.md §4), restic's semantics, per source (cluster or data folder, as restic's
 * host + paths): backups newest first by completedAt; keep_last n
 * keeps the n newest; keep_hourly / daily / weekly / monthly / yearly n keep the newest backup of
 * each of the n most recent hours / days / ISO weeks / months / years (local time) that have one;
 * keep_within <duration> (`1y2m3d4h`) keeps every backup completed within that long before the
 * newest one. Kept by any rule = kept.
 */
import { MobrError, checkAborted } from '../errors.js';
import type { GcOptions, GcReport } from './gc.js';
import { deleteBackups } from './delete.js';
import type { Repository } from './repository.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** restic's duration: years, months, days, hours (`1y6m`, `7d`, `36h`), before the newest backup. */
  keepWithin?: string;
}

export interface BackupTime {
  id: string;
  completedAt: number;
  /** The source it is of (sourceKey); policies apply to each group separately. */
  group?: string;
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
const hourKey = (d: Date) => `${dayKey(d)} ${pad(d.getHours())}h`;
const yearKey = (d: Date) => String(d.getFullYear());

/** `1y2m3d4h` (each part optional, in that order) as [years, months, days, hours]; BAD_INPUT otherwise. */
export function parseWithin(s: string): [number, number, number, number] {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(s.trim());
  if (!m || s.trim() === '') throw new MobrError('BAD_INPUT', `bad --keep_within ${JSON.stringify(s.slice(0, 30))}: want a duration like 7d, 36h or 1y6m (y, m, d, h)`);
  return [1, 2, 3, 4].map((i) => Number(m[i] ?? 0)) as [number, number, number, number];
}

/** The time `within` before `newest` (calendar arithmetic, local time, as restic's AddDate). */
export function withinCutoff(newest: number, within: string): number {
  const [y, mo, d, h] = parseWithin(within);
  const t = new Date(newest);
  t.setFullYear(t.getFullYear() - y, t.getMonth() - mo, t.getDate() - d);
  return t.getTime() - h * 3_600_000;
}

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
    ['hourly', p.keepHourly, hourKey],
    ['daily', p.keepDaily, dayKey],
    ['weekly', p.keepWeekly, weekKey],
    ['monthly', p.keepMonthly, monthKey],
    ['yearly', p.keepYearly, yearKey],
  ];
  for (const [name, n] of rules) if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new MobrError('BAD_INPUT', `bad keep_${name} ${n}: want a whole number`);
  if (p.keepWithin !== undefined) parseWithin(p.keepWithin);
  if (!rules.some(([, n]) => (n ?? 0) > 0) && p.keepWithin === undefined) {
    throw new MobrError('BAD_INPUT', 'no retention rule: give at least one of --keep_last, --keep_hourly, --keep_daily, --keep_weekly, --keep_monthly, --keep_yearly, --keep_within');
  }
  const sorted = [...backups].sort((a, b) => b.completedAt - a.completedAt || (a.id < b.id ? 1 : -1));
  const cutoff = p.keepWithin !== undefined && sorted.length > 0 ? withinCutoff(sorted[0].completedAt, p.keepWithin) : undefined;
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
    if (cutoff !== undefined && b.completedAt > cutoff) reasons.push(`within ${p.keepWithin}`);
    (reasons.length > 0 ? keep : remove).push({ ...b, reasons });
  }
  return { keep, remove };
}

export interface PruneResult extends PrunePlan {
  dryRun: boolean;
  /** Backups the policy was not applied to (not in `only`): never touched. */
  untouched: string[];
  gc?: GcReport | 'deferred';
  deferredBecause?: string;
}

export interface PruneOptions extends GcOptions {
  /** Apply the policy to these backups only (the ones the catalog in use records); default all. */
  only?: ReadonlySet<string>;
  /** Right after the removed manifests are deleted (the caller drops their catalog records). */
  afterDelete?: (ids: string[]) => Promise<void>;
}

/**
 * What a backup is of, for grouping (as restic groups by host and paths): the cluster
 * (`matrixone host:port`) or the data folder (`cold /path`) its manifest names.
 */
export function sourceKey(source: Record<string, unknown>): string {
  if (source.kind === 'cold' && typeof source.dataDir === 'string') return `cold ${source.dataDir}`;
  if (source.kind === 'matrixone') return `matrixone ${String(source.host)}:${String(source.port)}`;
  return 'unknown source';
}

/**
 * Applies a policy to the backups of repo, each source separately: deletes the rest, then one gc
 * (unless dryRun). A gc that refuses deletes nothing (src/repo/delete.ts).
 */
export async function prune(repo: Repository, policy: RetentionPolicy, o: PruneOptions = {}): Promise<PruneResult> {
  const groups = new Map<string, BackupTime[]>();
  const ids = await repo.listBackupIds();
  const untouched = o.only ? ids.filter((id) => !o.only!.has(id)) : [];
  const applied = o.only ? ids.filter((id) => o.only!.has(id)) : ids;
  for (let i = 0; i < applied.length; i++) {
    checkAborted(o.signal);
    o.onProgress?.({ phase: 'select', done: i, total: applied.length });
    const m = await repo.loadManifest(applied[i]!);
    const key = sourceKey(m.source);
    groups.set(key, [...(groups.get(key) ?? []), { id: applied[i]!, completedAt: m.completedAt, group: key }]);
  }
  const plan: PrunePlan = { keep: [], remove: [] };
  for (const backups of groups.values()) {
    const p = planRetention(backups, policy);
    plan.keep.push(...p.keep);
    plan.remove.push(...p.remove);
  }
  if (groups.size === 0) planRetention([], policy); // still refuses an empty policy
  if (o.dryRun) return { ...plan, dryRun: true, untouched };
  const gone = plan.remove.map((r) => r.id);
  const d = await deleteBackups(repo, gone, { ...o, gc: true, afterDelete: () => o.afterDelete?.(gone) ?? Promise.resolve() });
  return { ...plan, dryRun: false, untouched, gc: d.gc, deferredBecause: d.deferredBecause };
}
