/**
 * The growth of a repository over time (spec/browse.md §6): its backups in order of completion,
 * each with what it holds (logical), what it names in packs (stored), what it added (stored
 * bytes of chunks no older backup names: the same rule as `diff`'s added bytes, src/repo/diff.ts)
 * and what only it names (unique), plus running totals. Pure: manifests and an index lookup in.
 */
import type { ChunkLocation } from './index-file.js';
import type { Manifest } from './manifest.js';
import { chunkSet } from './diff.js';

export interface GrowthPoint {
  id: string;
  completedAt: number;
  type: Manifest['type'];
  logicalSize: number;
  /** Stored bytes of the distinct chunks this backup names. */
  storedSize: number;
  /** Stored bytes of the chunks this backup names and no older one does. */
  addedBytes: number;
  /** Stored bytes of the chunks no other backup names (what deleting it frees). */
  uniqueBytes: number;
  /** Sum of logicalSize up to and including this backup (the size without dedup). */
  cumulativeLogical: number;
  /** Sum of addedBytes up to and including it (stored bytes of every chunk named so far). */
  cumulativeStored: number;
}

export interface Growth {
  points: GrowthPoint[];
  /** cumulativeLogical / cumulativeStored of the last point (1 when nothing is stored). */
  dedupRatio: number;
}

export function growthSeries(manifests: readonly Manifest[], lookup: (hex: string) => ChunkLocation | undefined): Growth {
  const ordered = [...manifests].sort((a, b) => a.completedAt - b.completedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const sets = ordered.map(chunkSet);
  const users = new Map<string, number>();
  for (const s of sets) for (const h of s) users.set(h, (users.get(h) ?? 0) + 1);
  const stored = (h: string) => lookup(h)?.length ?? 0;
  const seen = new Set<string>();
  let cumulativeLogical = 0;
  let cumulativeStored = 0;
  const points = ordered.map((m, i) => {
    let storedSize = 0;
    let added = 0;
    let unique = 0;
    for (const h of sets[i]) {
      const n = stored(h);
      storedSize += n;
      if (users.get(h) === 1) unique += n;
      if (!seen.has(h)) {
        seen.add(h);
        added += n;
      }
    }
    cumulativeLogical += m.logicalSize;
    cumulativeStored += added;
    return { id: m.id, completedAt: m.completedAt, type: m.type, logicalSize: m.logicalSize, storedSize, addedBytes: added, uniqueBytes: unique, cumulativeLogical, cumulativeStored };
  });
  return { points, dedupRatio: cumulativeStored > 0 ? cumulativeLogical / cumulativeStored : 1 };
}
