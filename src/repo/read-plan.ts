/**
 * What reading some files of a backup costs (the dry runs of restore, spec/browse.md §6): how
 * many distinct chunks and packs they touch and how many stored bytes come out of the packs.
 * Pure: entries and an index lookup in.
 */
import { toHex } from '../hash/hex.js';
import type { ChunkLocation } from './index-file.js';
import { chunkCount, chunkId, type FileEntry } from './manifest.js';

export interface ReadPlan {
  files: number;
  /** Plain bytes of the files (what gets written). */
  bytes: number;
  chunks: number;
  packs: number;
  /** Stored bytes of the distinct chunks (what gets read from the repository). */
  storedBytes: number;
  /** Chunks in no index: the restore would fail on them. */
  missingChunks: number;
}

export function readPlan(files: readonly FileEntry[], lookup: (hex: string) => ChunkLocation | undefined): ReadPlan {
  const chunks = new Set<string>();
  const packs = new Set<string>();
  const plan: ReadPlan = { files: 0, bytes: 0, chunks: 0, packs: 0, storedBytes: 0, missingChunks: 0 };
  for (const f of files) {
    if (f.kind !== 'file') continue;
    plan.files++;
    plan.bytes += f.size;
    for (let i = 0; i < chunkCount(f); i++) {
      const h = toHex(chunkId(f, i));
      if (chunks.has(h)) continue;
      chunks.add(h);
      const loc = lookup(h);
      if (!loc) plan.missingChunks++;
      else {
        packs.add(loc.pack);
        plan.storedBytes += loc.length;
      }
    }
  }
  plan.chunks = chunks.size;
  plan.packs = packs.size;
  return plan;
}
