/**
 * Repository statistics: per backup its logical size, the stored size of the distinct chunks it
 * names, its dedup ratio, and the stored bytes only it names (what deleting it would free at the
 * next gc, packs younger than the safety window aside).
 */
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type Manifest } from './manifest.js';
import type { Repository } from './repository.js';

interface BackupStats {
  id: string;
  completedAt: number;
  logicalSize: number;
  chunks: number;
  /** Stored (compressed) bytes of the distinct chunks this backup names. */
  storedSize: number;
  /** logicalSize / storedSize (1 when nothing is stored). */
  dedupRatio: number;
  /** Stored bytes of the chunks no other backup names. */
  uniqueBytes: number;
}

export interface RepoStats {
  backups: BackupStats[];
  logicalSize: number;
  /** Stored bytes of every chunk some backup names. */
  liveBytes: number;
  /** Bytes of all packs (live chunks, garbage awaiting gc, headers). */
  packBytes: number;
  packs: number;
  dedupRatio: number;
}

/**
 * Statistics of the backups `ids` (default all), counted against every backup of the repository
 * (`manifests`: all of them, when the caller has loaded them already).
 */
export async function repoStats(repo: Repository, ids?: string[], manifests?: Manifest[]): Promise<RepoStats> {
  const all: Manifest[] = manifests ?? [];
  if (!manifests) for (const id of await repo.listBackupIds()) all.push(await repo.loadManifest(id));
  const users = new Map<string, number>(); // chunk -> number of backups naming it
  const sets = all.map((m) => {
    const s = new Set<string>();
    for (const f of m.files) for (let i = 0; i < chunkCount(f); i++) s.add(toHex(chunkId(f, i)));
    for (const h of s) users.set(h, (users.get(h) ?? 0) + 1);
    return s;
  });
  const stored = (h: string) => repo.index.get(h)?.length ?? 0;
  const want = ids ? new Set(ids) : undefined;
  const backups: BackupStats[] = [];
  all.forEach((m, i) => {
    if (want && !want.has(m.id)) return;
    let storedSize = 0;
    let uniqueBytes = 0;
    for (const h of sets[i]) {
      storedSize += stored(h);
      if (users.get(h) === 1) uniqueBytes += stored(h);
    }
    backups.push({ id: m.id, completedAt: m.completedAt, logicalSize: m.logicalSize, chunks: sets[i].size, storedSize, dedupRatio: ratio(m.logicalSize, storedSize), uniqueBytes });
  });
  let liveBytes = 0;
  for (const h of users.keys()) liveBytes += stored(h);
  let packBytes = 0;
  let packs = 0;
  for await (const e of repo.store.list('data')) {
    packBytes += e.size;
    packs++;
  }
  const logicalSize = all.reduce((s, m) => s + m.logicalSize, 0);
  return { backups: backups.sort((a, b) => a.completedAt - b.completedAt), logicalSize, liveBytes, packBytes, packs, dedupRatio: ratio(logicalSize, liveBytes) };
}

function ratio(logical: number, stored: number): number {
  return stored > 0 ? logical / stored : 1;
}
