/**
 * Reading one staged file of a server backup into the repository (spec/matrixone.md, "How mobr
 * ingests a server backup"): unframed first when LocalFS-framed, chunked and stored through the
 * Ingestor, and checked against the server's SHA-256 when it gave one. Used by the single-process
 * backup and by every ingester of a backup in shares (shared.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MobrError, withContext } from '../errors.js';
import type { Ingestor } from '../backup/ingest.js';
import { toHex } from '../hash/hex.js';
import type { FileEntry } from '../repo/manifest.js';
import type { ShareFile } from '../repo/parts.js';
import { unframeFile } from './framing.js';
import { listedSizeOf } from './listed-size.js';
import type { Staging } from './staging.js';

/** Reads one staged file into the repository and checks its size and SHA-256; returns its manifest entry. */
export async function readStagedFile(staging: Staging, ingestor: Ingestor, x: ShareFile): Promise<FileEntry> {
  const staged = await staging.localFile(x.rel, x.stagedSize);
  const local = x.framed ? await unframed(staged, x.rel) : staged;
  try {
    const f = await ingestor.ingest(local.path).catch((e) => Promise.reject(withContext(`ingest ${x.rel}`, e)));
    const got = toHex(f.sha256);
    if (f.size !== x.size || (x.sha256 !== undefined && got !== x.sha256)) {
      const listed = listedSizeOf(x);
      if (listed !== undefined) throw new MobrError('CORRUPT', `${x.rel}: ${f.size} bytes staged, ${x.against} says ${listed}, and the SHA-256 ${got} does not match its ${x.sha256 ?? 'checksum'} either`);
      throw new MobrError('CORRUPT', `${x.rel}: sha256 ${got} (${f.size} bytes) does not match ${x.against} (${x.sha256 ?? 'no checksum'}, ${x.size} bytes)`);
    }
    return { path: x.rel, kind: 'file', size: f.size, mode: 0o644, mtimeMs: x.mtimeMs, sha256: f.sha256, chunks: f.chunks, meta: x.meta };
  } finally {
    await local.release();
    if (local !== staged) await staged.release();
  }
}

/** A raw temp copy of a LocalFS-framed staged file. */
async function unframed(staged: { path: string }, rel: string): Promise<{ path: string; release(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mobr-unframe-'));
  const file = join(dir, 'raw');
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    await unframeFile(staged.path, file, `${rel} (LocalFS-framed)`);
  } catch (e) {
    await release();
    throw e;
  }
  return { path: file, release };
}
