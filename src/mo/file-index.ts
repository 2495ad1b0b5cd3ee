/**
 * Server-side dedup (spec/matrixone.md, "Server-side dedup"): from v3.0.6 MatrixOne's BACKUP
 * reads the newest `file_index_<ts>.idx` at the target root (pkg/backup/backup.go backupTae,
 * file_index.go LoadGlobalFileIndex) through the backup file service (LocalFS-framed on a
 * FILESYSTEM target up to v4.1.x; from v4.2.0 framed iff the cluster's SHARED is DISK; raw on
 * S3): Go CSV, the object name first. Every object a checkpoint lists and the index names is
 * not copied and is listed with needCopy=false and no checksum (tae.go execBackup). mobr seeds
 * its empty staging folder with such an index naming the objects an earlier server backup of
 * the repository holds; the ingest then carries those entries (ingest-plan.ts), so a full backup
 * makes the server copy about what an incremental would.
 */
import { allIndexed } from '../backup/backup.js';
import type { Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { parseServerVersion } from './client.js';
import { frame } from './framing.js';
import type { Staging } from './staging.js';
import { systemClock } from '../util/clock.js';

/** `<uuid>_<file number>`: an object the TN wrote (numbers from 1000 on are backup rewrites, never indexed). */
const OBJECT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_(\d{5})$/;

/** Whether a server of this `select version()` reads a file index (v3.0.6+; an unknown version is the newest). */
export function readsFileIndex(serverVersion: string): boolean {
  const v = parseServerVersion(serverVersion);
  return !v || v[0] > 3 || (v[0] === 3 && (v[1] > 0 || v[2] >= 6));
}

/** The names the index gives: objects of `from` (at `tae/<name>`) whose chunks the repository holds. */
export function indexedObjects(repo: Repository, from: readonly Manifest[]): string[] {
  const names = new Set<string>();
  for (const m of from) {
    for (const f of m.files) {
      if (f.kind !== 'file' || !f.path.startsWith('tae/')) continue;
      const name = f.path.slice(4);
      const num = OBJECT.exec(name)?.[1];
      if (num === undefined || Number(num) >= 1000 || !allIndexed(repo, f)) continue;
      names.add(name);
    }
  }
  return [...names].sort();
}

/** The bytes of an index: one CSV record per name (names never need quoting). */
export function fileIndexBytes(names: readonly string[], framed: boolean): Uint8Array {
  const text = Buffer.from(names.map((n) => `${n}\n`).join(''));
  return framed ? frame(text) : text;
}

/**
 * Framing of the index the server reads: raw on S3; on a filesystem target LocalFS-framed up to
 * v4.1.x, from v4.2.0 as the cluster's SHARED, known from the previous backup's `moFraming`.
 */
export function fileIndexFramed(serverVersion: string, staging: Staging, previous: Manifest): boolean {
  if (staging.target.kind === 's3') return false;
  const v = parseServerVersion(serverVersion);
  const before42 = !!v && (v[0] < 4 || (v[0] === 4 && v[1] < 2));
  return before42 || previous.extra?.moFraming !== 'raw';
}

export interface SeededIndex {
  /** the index's name at the staging root */
  name: string;
  objects: number;
  /** removes it (the server has read it; it is no part of the backup) */
  remove(): Promise<void>;
}

/**
 * Writes `file_index_<now ns>-0.idx` at the staging root naming what `previous` (and the base)
 * hold, for a server that reads it; undefined when it does not or nothing is to be named.
 */
export async function seedFileIndex(repo: Repository, staging: Staging, o: { serverVersion: string; previous?: Manifest; base?: Manifest }): Promise<SeededIndex | undefined> {
  if (!o.previous || !readsFileIndex(o.serverVersion)) return undefined;
  const from = o.base && o.base !== o.previous ? [o.base, o.previous] : [o.previous];
  const names = indexedObjects(repo, from);
  if (names.length === 0) return undefined;
  const name = `file_index_${BigInt(systemClock.now()) * 1_000_000n}-0.idx`;
  const key = `${staging.prefix}/${name}`;
  await repo.store.put(key, fileIndexBytes(names, fileIndexFramed(o.serverVersion, staging, o.previous)));
  return { name, objects: names.length, remove: () => repo.store.delete(key) };
}
