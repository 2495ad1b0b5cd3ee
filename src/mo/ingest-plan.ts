/**
 * What happens to each file of a staged server backup (spec/matrixone.md, "How mobr ingests a
 * server backup"): read it into the repository, reuse the chunks of an identical file of an
 * earlier backup unread, or carry an entry of an earlier backup for a file the server did not copy.
 *
 * - A row with needCopy=false, or a row the server listed but did not write and gave no checksum
 *   (a file it found already at the target, pkg/backup/tae.go `dstHave`), is carried from an
 *   earlier server backup of this repository holding the same path and size (and the same server
 *   checksum when both have one): the base first, then the previous backup, then any other.
 *   Objects are immutable and uniquely named, so path and size identify one. None: NOT_FOUND.
 * - A row with the server's SHA-256 whose path, size and checksum equal an entry of the previous
 *   backup reuses that entry's chunks unread.
 * - Everything else is read; a row without a checksum is hashed by mobr (`sha256From: mobr`).
 * - A row with a checksum whose size is not the staged file's is read at the file's size and
 *   must match the checksum; the entry keeps the listed size (`x.listedSize`, listed-size.ts).
 */
import type { ShareFile } from '../repo/parts.js';
import { isMobrError, MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { allIndexed } from '../backup/backup.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { framedSize, unframedSize } from './framing.js';
import { listedSizeMeta, sizeAsListed } from './listed-size.js';
import { formatTS, type TaeFileEntry } from './layout.js';
import { isBackupFsPath, type StagedLayout } from './staged.js';

/** One staged file to read: the plan object (spec/repository.md §10) stores these as they are. */
export type ToRead = ShareFile;

export interface IngestPlan {
  /** entries taken from earlier backups (reused or carried) */
  kept: FileEntry[];
  toRead: ToRead[];
  reusedFiles: number;
  reusedBytes: number;
  carriedFiles: number;
}

interface PlanContext {
  repo: Repository;
  id: string;
  base?: Manifest;
  previous?: Manifest;
}

export async function planIngest(layout: StagedLayout, c: PlanContext): Promise<IngestPlan> {
  const plan: IngestPlan = { kept: [], toRead: [], reusedFiles: 0, reusedBytes: 0, carriedFiles: 0 };
  for (const [rel, w] of layout.written) {
    const meta: Record<string, string> = { sha256From: w.sidecar === 'sha256' ? 'sidecar' : 'mobr' };
    if (w.sidecar) meta.sidecar = w.sidecar;
    if (w.md5) meta.md5 = w.md5;
    const framed = layout.framing === 'crc' && isBackupFsPath(rel);
    plan.toRead.push({ rel, size: w.data.length, stagedSize: w.stagedSize, framed, mtimeMs: mtime(w.mtimeMs), meta, sha256: w.sha256, against: 'the bytes checked against its sidecar' });
  }
  const prevByPath = new Map((c.previous?.files ?? []).map((f) => [f.path, f]));
  const carry = carrier(c);
  for (const row of layout.rows) {
    const rel = `tae/${row.path}`;
    const meta = rowMeta(row);
    const e = layout.staged.get(rel);
    if (!row.needCopy || (!e && row.checksum === '')) {
      const from = await carry(rel, row);
      if (from) {
        plan.kept.push({ ...from, meta: { ...meta, checksum: row.checksum || (from.meta?.checksum ?? ''), sha256From: from.meta?.sha256From ?? 'tae_list' } });
        plan.carriedFiles++;
        continue;
      }
      if (!e) throw notCopied(c, rel, row);
    }
    if (!e) throw new MobrError('CORRUPT', `${rel}: listed in tae/tae_list but missing from the backup MatrixOne wrote`);
    const framed = layout.framing === 'crc';
    const size = ownSize(rel, row, e.size, framed);
    if (size !== row.size) Object.assign(meta, listedSizeMeta(row.size));
    const prev = prevByPath.get(rel);
    if (row.checksum !== '' && prev && prev.kind === 'file' && prev.size === size && prev.meta?.checksum === row.checksum && allIndexed(c.repo, prev)) {
      plan.kept.push({ ...prev, mtimeMs: mtime(e.mtimeMs), meta: { ...meta, sha256From: 'tae_list' } });
      plan.reusedFiles++;
      plan.reusedBytes += size;
      continue;
    }
    const sha256 = row.checksum === '' ? undefined : row.checksum;
    plan.toRead.push({ rel, size, stagedSize: e.size, framed, mtimeMs: mtime(e.mtimeMs), meta: { ...meta, sha256From: sha256 ? 'tae_list' : 'mobr' }, sha256, against: 'tae/tae_list' });
  }
  return plan;
}

/**
 * The size of a listed file: the row's, when the staged bytes have it. A row with the server's
 * SHA-256 whose size is not the staged file's (a GC window object of v2.0.1-v4.1.x, listed with
 * the GC meta's size) is taken at the file's own size: its SHA-256, checked as it is read,
 * decides. Without a checksum nothing vouches for the bytes: CORRUPT.
 */
function ownSize(rel: string, row: TaeFileEntry, staged: number, framed: boolean): number {
  const want = framed ? framedSize(row.size) : row.size;
  if (staged === want) return row.size;
  const own = row.checksum === '' ? undefined : framed ? unframedSize(staged) : staged;
  if (own === undefined) throw new MobrError('CORRUPT', `${rel}: ${staged} bytes staged, tae/tae_list says ${row.size}${framed ? ` (${want} LocalFS-framed)` : ''}`);
  return own;
}

/** Finds an earlier backup's entry for a file the server did not copy: base, previous, then every other server backup. */
function carrier(c: PlanContext): (rel: string, row: TaeFileEntry) => Promise<FileEntry | undefined> {
  const byPath = (m: Manifest) => new Map(m.files.map((f) => [f.path, f]));
  const first = [c.base, c.previous].filter((m): m is Manifest => m !== undefined).map(byPath);
  let others: Promise<Map<string, FileEntry>[]> | undefined;
  const fits = (f: FileEntry | undefined, row: TaeFileEntry): f is FileEntry =>
    !!f && f.kind === 'file' && sizeAsListed(f, row.size) && !(row.checksum !== '' && f.meta?.checksum && f.meta.checksum !== row.checksum) && allIndexed(c.repo, f);
  return async (rel, row) => {
    for (const m of first) {
      const f = m.get(rel);
      if (fits(f, row)) return f;
    }
    others ??= loadOtherServerManifests(c).then((ms) => ms.map(byPath));
    for (const m of await others) {
      const f = m.get(rel);
      if (fits(f, row)) return f;
    }
    return undefined;
  };
}

async function loadOtherServerManifests(c: PlanContext): Promise<Manifest[]> {
  const skip = new Set([c.base?.id, c.previous?.id]);
  const out: Manifest[] = [];
  for (const bid of await c.repo.listBackupIds()) {
    if (skip.has(bid)) continue;
    const m = await c.repo.loadManifest(bid).catch((e) => (isMobrError(e) ? undefined : Promise.reject(e)));
    if (m && m.source.kind === 'matrixone') out.push(m);
  }
  return out.sort((a, b) => b.completedAt - a.completedAt);
}

function notCopied(c: PlanContext, rel: string, row: TaeFileEntry): MobrError {
  const why = row.needCopy
    ? 'listed in tae/tae_list but not written: it was already at the backup target'
    : c.base
      ? `needCopy=false: unchanged since base backup ${c.base.id}`
      : 'needCopy=false: the backup target already held it (tae/file_list or a file_index_<ts>.idx)';
  return new MobrError('NOT_FOUND', `backup ${c.id}: MatrixOne did not copy ${rel} (${why}) and no backup in this repository holds it with ${row.size} bytes; take a full backup into a fresh target`);
}

function rowMeta(row: TaeFileEntry): Record<string, string> {
  const meta: Record<string, string> = { checksum: row.checksum, needCopy: String(row.needCopy) };
  if (row.ts) meta.ts = formatTS(row.ts);
  return meta;
}

function mtime(ms: number | undefined): number {
  return Math.trunc(ms ?? systemClock.now());
}
