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
  check?: { at: number; ok: boolean; damaged: number };
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

/** The last check of `repository` in a metrics file (metrics.ts), if one is recorded there. */
export async function lastCheck(metricsFile: string | undefined, repository: string): Promise<Health['check']> {
  if (!metricsFile) return undefined;
  const series = parseOwn(await fsp.readFile(metricsFile, 'utf8').catch(() => ''));
  const labels = labelText('check', repository, '');
  const at = series.get('mobr_last_run_timestamp_seconds')?.get(labels);
  const ok = series.get('mobr_check_ok')?.get(labels);
  if (at === undefined || ok === undefined) return undefined;
  return { at: Number(at) * 1000, ok: ok === '1', damaged: Number(series.get('mobr_check_damaged_files')?.get(labels) ?? 0) };
}
