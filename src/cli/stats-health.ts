/**
 * What a nightly operator reads first on the `stats --html` page (issue #24): per source, how
 * long since its newest backup (freshness) and how many full and incremental backups it has;
 * the last check (from the --metrics_file a check wrote); the space gc can reclaim; and dedup
 * split from compression (logical -> unique raw chunk bytes -> stored bytes).
 */
import { promises as fsp } from 'node:fs';
import { chunkCount, chunkId, type Manifest } from '../repo/manifest.js';
import type { ChunkLocation } from '../repo/index-file.js';
import { toHex } from '../hash/hex.js';
import { sourceKey } from '../repo/prune.js';
import { labelText, parseOwn } from './metrics.js';

interface SourceHealth {
  source: string;
  backups: number;
  full: number;
  incremental: number;
  newest: number;
  /** Whole days from the newest backup to the page's time. */
  daysWithout: number;
}

export interface Health {
  sources: SourceHealth[];
  /** Plain bytes of the distinct chunks the backups name (after dedup, before compression). */
  uniqueRawBytes: number;
  /** Their stored bytes (after compression). */
  uniqueStoredBytes: number;
  /** Pack bytes no backup needs: what gc frees. */
  reclaimableBytes: number;
  /** exitCode: the check run's (0, 1: it got to the end; else it stopped before, see mo_br --help). */
  check?: { at: number; ok: boolean; damaged: number; exitCode: number };
}

export function healthOf(manifests: readonly Manifest[], lookup: (hex: string) => ChunkLocation | undefined, packBytes: number, now: number): Health {
  const bySource = new Map<string, SourceHealth>();
  const seen = new Set<string>();
  let raw = 0;
  let stored = 0;
  for (const m of manifests) {
    const key = sourceKey(m.source);
    let s = bySource.get(key);
    if (!s) bySource.set(key, (s = { source: key, backups: 0, full: 0, incremental: 0, newest: 0, daysWithout: 0 }));
    s.backups++;
    if (m.type === 'incremental') s.incremental++;
    else s.full++;
    s.newest = Math.max(s.newest, m.completedAt);
    for (const f of m.files) {
      if (f.kind !== 'file') continue;
      for (let i = 0; i < chunkCount(f); i++) {
        const h = toHex(chunkId(f, i));
        if (seen.has(h)) continue;
        seen.add(h);
        const loc = lookup(h);
        raw += loc?.rawLength ?? 0;
        stored += loc?.length ?? 0;
      }
    }
  }
  const sources = [...bySource.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
  for (const s of sources) s.daysWithout = Math.max(0, Math.floor((now - s.newest) / 86_400_000));
  return { sources, uniqueRawBytes: raw, uniqueStoredBytes: stored, reclaimableBytes: Math.max(0, packBytes - stored) };
}

/**
 * The last check of `repository` in a metrics file (metrics.ts), if one is recorded there: the
 * newest check run of any source (`check <ID>` labels its series with the backup's source, a
 * check by place with none). A run that did not get to the end (exit code other than 0 or 1)
 * is a failed check, whatever an earlier run's `mobr_check_ok` still says.
 */
export async function lastCheck(metricsFile: string | undefined, repository: string): Promise<Health['check']> {
  if (!metricsFile) return undefined;
  const series = parseOwn(await fsp.readFile(metricsFile, 'utf8').catch(() => ''));
  const prefix = labelText('check', repository, '').slice(0, -2); // up to the source's value
  let newest: { labels: string; at: number } | undefined;
  for (const [labels, v] of series.get('mobr_last_run_timestamp_seconds') ?? []) {
    if (labels.startsWith(prefix) && (!newest || Number(v) > newest.at)) newest = { labels, at: Number(v) };
  }
  if (!newest) return undefined;
  const value = (name: string) => series.get(name)?.get(newest.labels);
  const exitCode = Number(value('mobr_last_exit_code') ?? 0);
  const finished = exitCode === 0 || exitCode === 1;
  if (finished && value('mobr_check_ok') === undefined) return undefined;
  return { at: newest.at * 1000, ok: finished && value('mobr_check_ok') === '1', damaged: Number(value('mobr_check_damaged_files') ?? 0), exitCode };
}
