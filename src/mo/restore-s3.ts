/**
 * `--restore_dir s3`: a server backup restored into the bucket and prefix a cluster's S3
 * fileservices read (spec/matrixone.md, "Restore side"). The layout is the one MatrixOne's
 * Kubernetes operator gives a cluster whose shared storage is `<bucket>/<filepath>`
 * (matrixone-operator pkg/controllers/common/fileservice.go, and br/ which always restores with
 * `--restore_dir s3 --restore_bucket <bucket> --restore_filepath <filepath>`):
 *  - SHARED (the TN and CN fileservice) has key-prefix `<filepath>/data`; an S3 fileservice
 *    stores file `<x>` at `path.Join(key-prefix, x)` (pkg/fileservice/s3_fs.go pathToKey), so
 *    `tae/<x>` goes to `<filepath>/data/<x>`;
 *  - the restoring log service reads `hk_data` through its BACKUP fileservice, key-prefix
 *    `<filepath>/` (logset bootstrap `restore.file-path = "BACKUP://hk_data"`): `<filepath>/hk_data`;
 *  - objects are stored as their plain bytes (S3 fileservices never frame).
 * Launch configs are not restored (the operator generates a cluster's configs). A prefix that
 * already holds `data/` objects or `hk_data` is refused: restore never overwrites cluster data.
 */
import { MobrError, checkAborted } from '../errors.js';
import { readFileChunks } from '../backup/reader.js';
import type { RestoreProgress } from '../backup/restore.js';
import { equalBytes } from '../util/bytes.js';
import type { Repository } from '../repo/repository.js';
import { mapLimit, S3_REQUESTS } from '../util/concurrency.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { S3Credentials, S3Location } from '../store/location.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { createHash } from 'node:crypto';
import { DESCRIPTIVE } from './restore.js';

const S3_SHARED_PREFIX = 'data';
const S3_HK_KEY = 'hk_data';

interface MoS3RestoreOptions {
  /** Keys for the target bucket. */
  credentials?: S3Credentials;
  parallelism?: number;
  pool?: WorkerPool;
  read?: (f: FileEntry) => AsyncIterable<Uint8Array>;
  /** Called once before any object is written: the key prefix TAE files go to. */
  onLayout?: (l: { taePath: string }) => void;
  onFile?: (f: FileEntry, shown: { from: string; to: string; tae: boolean }) => void;
  onSkip?: (f: FileEntry, why: string) => void;
  onProgress?: (p: RestoreProgress) => void;
  /** Test hook: the store to write to instead of opening the location. */
  store?: Store;
  /** Ctrl-C / SIGTERM: stops between chunks and aborts the uploads in flight (issue #25). */
  signal?: AbortSignal;
}

interface MoS3RestoreResult extends RestoreProgress {
  taePath: string;
  taeFiles: number;
}

const join = (...parts: string[]) => parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '').join('/');

/** The store key (below the filepath) of each restored file. */
function s3KeyFor(layoutPath: string): string | undefined {
  if (layoutPath.startsWith('tae/') && !DESCRIPTIVE.has(layoutPath)) return join(S3_SHARED_PREFIX, layoutPath.slice(4));
  if (layoutPath === 'hakeeper/hk_data') return S3_HK_KEY;
  return undefined;
}

export async function restoreMatrixOneToS3(repo: Repository | undefined, m: Manifest, to: S3Location, o: MoS3RestoreOptions = {}): Promise<MoS3RestoreResult> {
  if (m.source.kind !== 'matrixone') {
    throw new MobrError('NOT_AVAILABLE', `backup ${m.id} is a cold backup of a mo-data folder (LocalFS files); restore it with --restore_dir filesystem`);
  }
  const plan: { f: FileEntry; key: string }[] = [];
  for (const f of m.files) {
    if (f.kind !== 'file') continue;
    const key = s3KeyFor(f.path);
    if (key) plan.push({ f, key });
    else if (!DESCRIPTIVE.has(f.path)) o.onSkip?.(f, f.path.startsWith('config/') ? 'launch configs are not restored into s3' : 'not part of a cluster\'s shared storage');
  }
  const store = o.store ?? openStore(to, { credentials: o.credentials, parallelism: o.parallelism });
  const ownPool = !o.read && !o.pool;
  const pool = o.read ? undefined : o.pool ?? await jobPool(plan.reduce((s, p) => s + p.f.size, 0), o.parallelism);
  const read = o.read ?? ((f: FileEntry) => readFileChunks(repo!, pool!, f));
  try {
    const signal = o.signal;
    for await (const e of store.list(S3_SHARED_PREFIX, { signal })) {
      throw new MobrError('BAD_INPUT', `${store.location} already holds cluster data (${e.key}); restore into an empty --restore_filepath`);
    }
    if (await store.has(S3_HK_KEY, { signal })) {
      throw new MobrError('BAD_INPUT', `${store.location} already holds ${S3_HK_KEY}; restore into an empty --restore_filepath`);
    }
    const taePath = join(to.filepath, S3_SHARED_PREFIX);
    o.onLayout?.({ taePath });
    const progress: MoS3RestoreResult = { bytes: 0, totalBytes: plan.reduce((s, p) => s + p.f.size, 0), files: 0, totalFiles: plan.length, taePath, taeFiles: 0 };
    await mapLimit(plan, Math.max(1, o.parallelism ?? S3_REQUESTS), async ({ f, key }) => {
      const tae = f.path.startsWith('tae/');
      o.onFile?.(f, { from: tae ? f.path.slice(4) : f.path, to: join(to.filepath, key), tae });
      const parts: Uint8Array[] = [];
      const sha = createHash('sha256');
      let size = 0;
      checkAborted(signal);
      for await (const c of read(f)) {
        checkAborted(signal);
        parts.push(c);
        sha.update(c);
        size += c.length;
        progress.bytes += c.length;
        o.onProgress?.(progress);
      }
      if (size !== f.size || (f.sha256 && !equalBytes(new Uint8Array(sha.digest()), f.sha256))) {
        throw new MobrError('CORRUPT', `restore ${f.path}: ${size !== f.size ? `read ${size} bytes, the backup records ${f.size}` : 'bytes do not match the recorded SHA-256'}; nothing written for it`);
      }
      await store.put(key, Buffer.concat(parts), { signal });
      progress.files++;
      if (tae) progress.taeFiles++;
      o.onProgress?.(progress);
    });
    return progress;
  } finally {
    if (ownPool) await pool!.close();
    if (!o.store) await store.close?.();
  }
}
