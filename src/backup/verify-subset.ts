/**
 * `check --read_data_subset` (restic's semantics, spec/repository.md §5.1.2): read back only some
 * of the packs the checked backups use, so a nightly job reads all data over a month.
 * - `n/m`: the packs whose id's first byte, modulo m, is n-1 (deterministic: the m subsets
 *   together are every pack, each once; m at most 256);
 * - `x%`: that share of the packs (at least one), picked at random each run.
 * Each pack read is checked whole: its header against its name, its bytes against the header's
 * hash, every chunk the backups use decoded and checked against its id. A damaged chunk is
 * reported for every file of the checked backups that uses it.
 */
import { MobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type Manifest } from '../repo/manifest.js';
import type { ChunkLocation } from '../repo/index-file.js';
import { blobFields } from '../repo/read-plan.js';
import type { Repository } from '../repo/repository.js';
import { mapLimit, READ_AHEAD } from '../util/concurrency.js';
import type { WorkerPool } from '../workers/pool.js';

export type Subset = { kind: 'bucket'; n: number; m: number } | { kind: 'percent'; percent: number };

/** `n/m` or `x%` (BAD_INPUT otherwise). */
export function parseSubset(s: string): Subset {
  const t = s.trim();
  const frac = /^(\d+)\/(\d+)$/.exec(t);
  if (frac) {
    const n = Number(frac[1]);
    const m = Number(frac[2]);
    if (m < 1 || m > 256 || n < 1 || n > m) throw new MobrError('BAD_INPUT', `bad --read_data_subset ${JSON.stringify(t)}: n/m wants 1 <= n <= m <= 256`);
    return { kind: 'bucket', n, m };
  }
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (pct && Number(pct[1]) > 0 && Number(pct[1]) <= 100) return { kind: 'percent', percent: Number(pct[1]) };
  throw new MobrError('BAD_INPUT', `bad --read_data_subset ${JSON.stringify(t.slice(0, 30))}: want n/m (like 1/30) or a percentage (like 5%)`);
}

/** The packs of `packs` (hex ids) the subset takes, sorted. */
export function selectPacks(packs: readonly string[], s: Subset, random: () => number = Math.random): string[] {
  const sorted = [...packs].sort();
  if (s.kind === 'bucket') return sorted.filter((p) => parseInt(p.slice(0, 2), 16) % s.m === s.n - 1);
  let count = Math.floor((sorted.length * s.percent) / 100);
  if (count < 1 && sorted.length > 0) count = 1;
  for (let i = sorted.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sorted[i], sorted[j]] = [sorted[j], sorted[i]];
  }
  return sorted.slice(0, count).sort();
}

export interface SubsetReport {
  /** Packs the checked backups use, and those read. */
  packs: number;
  read: number;
  bytesRead: number;
  damagedPacks: { pack: string; problem: string }[];
  /** Files of the checked backups that use a damaged chunk (by backup). */
  damaged: { id: string; path: string; problem: string }[];
}

interface Blob {
  id: Uint8Array;
  loc: ChunkLocation;
}

/** Reads and checks the subset's packs of the chunks `manifests` use. */
export async function verifySubset(repo: Repository, manifests: Manifest[], subset: Subset, pool: WorkerPool, random?: () => number): Promise<SubsetReport> {
  const byPack = new Map<string, Map<string, Blob>>();
  for (const m of manifests) {
    for (const f of m.files) {
      if (f.kind !== 'file') continue;
      for (let i = 0; i < chunkCount(f); i++) {
        const id = chunkId(f, i);
        const loc = repo.location(id);
        if (!loc) continue; // the structure check reports it
        let blobs = byPack.get(loc.pack);
        if (!blobs) byPack.set(loc.pack, (blobs = new Map()));
        blobs.set(toHex(id), { id, loc });
      }
    }
  }
  const chosen = selectPacks([...byPack.keys()], subset, random);
  const report: SubsetReport = { packs: byPack.size, read: 0, bytesRead: 0, damagedPacks: [], damaged: [] };
  const badChunks = new Map<string, string>();
  await mapLimit(chosen, pool.threads + READ_AHEAD, async (pack) => {
    const blobs = [...byPack.get(pack)!.values()].sort((a, b) => a.loc.offset - b.loc.offset);
    const what = `pack ${pack.slice(0, 16)}`;
    const fail = (problem: string) => {
      report.damagedPacks.push({ pack, problem });
      for (const b of blobs) badChunks.set(toHex(b.id), `${what}: ${problem}`);
    };
    let data: Uint8Array;
    try {
      data = await repo.readPack(pack);
    } catch (e) {
      if (!(e instanceof MobrError)) throw e;
      return fail(e.code === 'NOT_FOUND' ? 'missing' : e.message);
    }
    report.read++;
    report.bytesRead += data.length;
    const r = await pool.packCheck({
      keys: repo.crypt?.master,
      data,
      pack,
      ...blobFields(blobs.map((b) => ({ ...b, uses: [] })), 0), files: blobs.map((_, j) => ({ blobs: [j] })), sha256s: new Uint8Array(0) });
    if (r.packProblem !== undefined) return fail(r.packProblem);
    if (!r.dataOk) report.damagedPacks.push({ pack, problem: `${what}: blob bytes do not match the header's hash (damaged)` });
    r.files.forEach((v, j) => {
      if (v && 'problem' in v) badChunks.set(toHex(blobs[j].id), `chunk ${toHex(blobs[j].id).slice(0, 16)} in ${what}: ${v.problem} (damaged)`);
    });
  });
  for (const m of manifests) {
    for (const f of m.files) {
      if (f.kind !== 'file') continue;
      for (let i = 0; i < chunkCount(f); i++) {
        const problem = badChunks.get(toHex(chunkId(f, i)));
        if (problem === undefined) continue;
        report.damaged.push({ id: m.id, path: f.path, problem });
        break;
      }
    }
  }
  report.damagedPacks.sort((a, b) => (a.pack < b.pack ? -1 : 1));
  return report;
}

