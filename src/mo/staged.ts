/**
 * Reading the layout a MatrixOne server wrote into a staging folder (spec/matrixone.md, "What the
 * server writes"), before any object is ingested: the small files written through the server's
 * writeFile (mo_meta, config/*, tae/tae_list, tae/tae_sum, hakeeper/hk_data), each checked against
 * its `.sha256` (or pre-release `.md5`) sidecar, and the parsed tae_list / tae_sum.
 *
 * Framing: a FILESYSTEM target of a DISK cluster stores everything under tae/ and hakeeper/
 * LocalFS-framed, sidecars included; mo_meta and config/ stay raw (ETL fileservice). A DISK-V2
 * cluster (v4.2+, `fileservice.LocalBackendOf`) and every S3 target write raw. The framing is
 * decided once for the whole folder, from the size of a sidecar under tae/ (36 bytes framed,
 * 32 raw) or, without sidecars, from tae_list's first block; every tae/ and hakeeper/ file must
 * then agree, or the backup is CORRUPT.
 */
import { createHash } from 'node:crypto';
import { MobrError } from '../errors.js';
import type { StoreEntry } from '../store/store.js';
import { framedSize, looksFramed, unframe } from './framing.js';
import { parseMoMeta, parseTaeList, parseTaeSum, sidecarPath, SIDECAR_ALGOS, verifySidecar, type MoMetaRow, type SidecarAlgo, type TaeFileEntry, type TaeSum } from './layout.js';
import type { Staging } from './staging.js';

type Framing = 'crc' | 'raw';

/** A file written through writeFile: its logical bytes, checked against its sidecar if any. */
interface WrittenFile {
  data: Uint8Array;
  sha256: string;
  sidecar?: SidecarAlgo;
  md5?: string;
  stagedSize: number;
  mtimeMs?: number;
}

export interface StagedLayout {
  framing: Framing;
  staged: Map<string, StoreEntry>;
  written: Map<string, WrittenFile>;
  meta: MoMetaRow[];
  /** tae_list rows, one per path (a path listed twice with agreeing size and checksum is merged) */
  rows: TaeFileEntry[];
  /** tae_list's field count: 5 (v1.2+) or 3 (before v1.2) */
  listFields: 3 | 5;
  sum: TaeSum;
}


/** tae/ and hakeeper/ go through GetForBackup (framed on DISK); mo_meta and config/ through the ETL fs (raw). */
export const isBackupFsPath = (p: string): boolean => p.startsWith('tae/') || p.startsWith('hakeeper/');

export async function readStagedLayout(staging: Staging): Promise<StagedLayout> {
  const staged = await staging.list();
  const need = (rel: string): StoreEntry => {
    const e = staged.get(rel);
    if (!e) throw new MobrError('CORRUPT', `${rel}: missing from the backup MatrixOne wrote to ${staging.description}`);
    return e;
  };
  for (const rel of ['mo_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) need(rel);
  const framing = staging.target.kind === 's3' ? 'raw' : await detectFraming(staging, staged);

  const written = new Map<string, WrittenFile>();
  const readWritten = async (rel: string): Promise<Uint8Array> => {
    const e = need(rel);
    let data = await staging.get(rel);
    if (framing === 'crc' && isBackupFsPath(rel)) data = unframe(data, `${rel} (LocalFS-framed)`);
    let sidecar: SidecarAlgo | undefined;
    for (const algo of SIDECAR_ALGOS) {
      if (!staged.has(sidecarPath(rel, algo))) continue;
      verifySidecar(data, await staging.get(sidecarPath(rel, algo)), algo, rel);
      sidecar ??= algo;
    }
    const md5 = sidecar === 'md5' ? createHash('md5').update(data).digest('hex') : undefined;
    written.set(rel, { data, sha256: createHash('sha256').update(data).digest('hex'), sidecar, md5, stagedSize: e.size, mtimeMs: e.mtimeMs });
    return data;
  };
  const meta = parseMoMeta(await readWritten('mo_meta'));
  for (const m of meta) if (m.type === 'launchconfig') await readWritten(`config/${m.file}`);
  const listText = await readWritten('tae/tae_list');
  const list = parseTaeList(listText);
  const sum = parseTaeSum(await readWritten('tae/tae_sum'));
  await readWritten('hakeeper/hk_data');
  const listed = list.reduce((s, e) => s + e.size, 0);
  if (listed !== sum.size) throw new MobrError('CORRUPT', `tae/tae_sum: size ${sum.size} is not the sum of tae/tae_list's sizes (${listed})`);
  const listFields = list.length > 0 && list[0]!.ts === undefined ? 3 : 5;
  return { framing, staged, written, meta, rows: mergeRows(list, written), listFields, sum };
}

async function detectFraming(staging: Staging, staged: Map<string, StoreEntry>): Promise<Framing> {
  for (const rel of ['tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) {
    for (const algo of SIDECAR_ALGOS) {
      const e = staged.get(sidecarPath(rel, algo));
      if (!e) continue;
      const raw = algo === 'sha256' ? 32 : 16;
      if (e.size === raw) return 'raw';
      if (e.size === framedSize(raw)) return 'crc';
      throw new MobrError('CORRUPT', `${sidecarPath(rel, algo)}: ${e.size} bytes, expected ${raw} (raw) or ${framedSize(raw)} (LocalFS-framed)`);
    }
  }
  return looksFramed(await staging.get('tae/tae_list')) ? 'crc' : 'raw'; // v1.0.0-rc1 wrote no sidecars
}

/**
 * One row per path. A path may be listed twice (an object named by a GC meta is copied again by
 * CopyGCDir, pkg/backup/tae.go): rows that agree on size and on their non-empty checksums are
 * merged (needCopy if either says so), as are rows with one SHA-256 and different sizes (v2.0.1-
 * v4.1.x list a GC window object with its GC meta's size); other rows that disagree describe no
 * single file: CORRUPT.
 */
function mergeRows(list: TaeFileEntry[], written: Map<string, WrittenFile>): TaeFileEntry[] {
  const byPath = new Map<string, TaeFileEntry>();
  for (const row of list) {
    const rel = `tae/${row.path}`;
    if (written.has(rel)) throw new MobrError('CORRUPT', `tae/tae_list: lists ${rel}, a file of the backup's own layout`);
    const seen = byPath.get(row.path);
    if (!seen) {
      byPath.set(row.path, row);
      continue;
    }
    const sameSum = seen.checksum !== '' && seen.checksum === row.checksum; // the bytes decide the size (ingest-plan.ts ownSize)
    if ((seen.size !== row.size && !sameSum) || (seen.checksum !== '' && row.checksum !== '' && seen.checksum !== row.checksum)) {
      throw new MobrError('CORRUPT', `tae/tae_list: ${row.path} is listed twice with different sizes or checksums`);
    }
    byPath.set(row.path, { ...seen, checksum: seen.checksum || row.checksum, needCopy: seen.needCopy || row.needCopy });
  }
  return [...byPath.values()];
}
