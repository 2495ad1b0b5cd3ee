/**
 * Comparing two backups (spec/browse.md §3): which entries the second adds, removes and changes,
 * and what the second really added to the repository. Pure functions of manifests and the index.
 */
import { toHex } from '../hash/hex.js';
import type { ChunkLocation } from './index-file.js';
import { chunkCount, chunkId, type FileEntry, type Manifest } from './manifest.js';
import { equalBytes } from '../util/bytes.js';

export interface EntryChange {
  path: string;
  before: FileEntry;
  after: FileEntry;
  /** 'content': bytes, kind or link target differ; 'metadata': only mode or mtime. */
  what: 'content' | 'metadata';
}

export interface ManifestDiff {
  added: FileEntry[];
  removed: FileEntry[];
  changed: EntryChange[];
}

/** Entries of b not in a, of a not in b, and in both but different; each list sorted by path. */
export function diffManifests(a: Manifest, b: Manifest): ManifestDiff {
  const before = new Map(a.files.map((f) => [f.path, f]));
  const after = new Map(b.files.map((f) => [f.path, f]));
  const out: ManifestDiff = { added: [], removed: [], changed: [] };
  for (const f of b.files) {
    const old = before.get(f.path);
    if (!old) out.added.push(f);
    else {
      const what = compare(old, f);
      if (what) out.changed.push({ path: f.path, before: old, after: f, what });
    }
  }
  for (const f of a.files) if (!after.has(f.path)) out.removed.push(f);
  const byPath = (x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  out.added.sort(byPath);
  out.removed.sort(byPath);
  out.changed.sort(byPath);
  return out;
}

function compare(a: FileEntry, b: FileEntry): EntryChange['what'] | undefined {
  if (a.kind !== b.kind || a.size !== b.size || a.target !== b.target) return 'content';
  if (a.kind === 'file' && !(a.sha256 && b.sha256 && equalBytes(a.sha256, b.sha256))) return 'content';
  if (a.mode !== b.mode || (a.kind !== 'dir' && a.mtimeMs !== b.mtimeMs)) return 'metadata';
  return undefined;
}

/** The distinct chunk ids (hex) a manifest references. */
export function chunkSet(m: Manifest): Set<string> {
  const s = new Set<string>();
  for (const f of m.files) for (let i = 0; i < chunkCount(f); i++) s.add(toHex(chunkId(f, i)));
  return s;
}

export interface AddedBytes {
  /** Distinct chunks `target` references that no older backup references. */
  chunks: number;
  /** Their bytes as stored in packs (after compression): what the repository grew by. */
  storedBytes: number;
  /** Their plain (uncompressed) bytes. */
  rawBytes: number;
  /** Such chunks the index does not know (missing data): counted in `chunks` only. */
  unindexed: number;
  /** The backups counted as older (completed before `target`). */
  olderBackups: string[];
}

/**
 * What `target` added to the repository: the chunks it references that no backup of `all`
 * completed before it references (ties broken by ID, so the count is well defined).
 */
export function addedBytes(target: Manifest, all: readonly Manifest[], lookup: (hex: string) => ChunkLocation | undefined): AddedBytes {
  const older = all.filter((m) => m.id !== target.id && (m.completedAt < target.completedAt || (m.completedAt === target.completedAt && m.id < target.id)));
  const seen = new Set<string>();
  for (const m of older) for (const h of chunkSet(m)) seen.add(h);
  const out: AddedBytes = { chunks: 0, storedBytes: 0, rawBytes: 0, unindexed: 0, olderBackups: older.map((m) => m.id) };
  for (const h of chunkSet(target)) {
    if (seen.has(h)) continue;
    out.chunks++;
    const loc = lookup(h);
    if (!loc) out.unindexed++;
    else {
      out.storedBytes += loc.length;
      out.rawBytes += loc.rawLength;
    }
  }
  return out;
}
