/**
 * A backup of a running MatrixOne into a repository (the library API under `mo_br backup --host`).
 *
 * 1. MatrixOne's BACKUP statement writes its layout into a staging folder inside the
 *    repository's location (staging.ts); incremental backups pass the base's BACKUPTS
 *    (`TYPE 'incremental' TIMESTAMP '<ts>'`, spec/matrixone.md "Statement").
 * 2. staged.ts reads the layout (raw, or LocalFS-framed under tae/ and hakeeper/ on a DISK
 *    target) and checks the small files against their `.sha256` (or `.md5`) sidecars; every
 *    object is checked against tae_list's SHA-256 when the server gave one, else hashed by mobr
 *    (recorded as `sha256From: mobr`). A mismatch aborts with one CORRUPT line naming the file.
 * 3. ingest-plan.ts decides per file: read it, reuse the chunks of an identical file of the
 *    previous backup unread (name, size and server checksum equal: objects are immutable), or
 *    carry an earlier backup's entry for a file the server did not copy (needCopy=false).
 * 4. The manifest is written last and lists every file (self-contained); the staging folder is
 *    removed after it, and on any failure (no manifest is left then).
 *
 * Manifest paths are the layout's paths (`mo_meta`, `config/…`, `tae/…`, `hakeeper/hk_data`).
 * Sidecars are not stored as files: `meta.sidecar` says which algorithm MatrixOne used and
 * restore.ts re-emits them (the SHA-256 is FileEntry.sha256; an MD5 is kept in `meta.md5`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MobrError, isMobrError, withContext } from '../errors.js';
import { bestEffort } from '../util/best-effort.js';
import { allIndexed } from '../backup/backup.js';
import { Ingestor } from '../backup/ingest.js';
import { toHex } from '../hash/hex.js';
import { assertBackupId, type FileEntry, type Manifest } from '../repo/manifest.js';
import { withSharedLock, type RepoLock } from '../repo/lock.js';
import type { Repository } from '../repo/repository.js';
import type { Location, S3Credentials } from '../store/location.js';
import { WorkerPool } from '../workers/pool.js';
import { backupDialect, connect, type ConnectOptions, type MoClient } from './client.js';
import { formatTS, parseBackupTime } from './layout.js';
import { assertStagingEmpty, stagingFor, type Staging } from './staging.js';
import { unframeFile } from './framing.js';
import { planIngest, type IngestPlan, type ToRead } from './ingest-plan.js';
import { readStagedLayout, type StagedLayout } from './staged.js';
import { mapLimit } from '../util/concurrency.js';

export interface MoBackupProgress {
  phase: 'server' | 'ingest';
  bytesRead: number;
  totalBytes: number;
  filesDone: number;
  totalFiles: number;
}

export interface MoBackupOptions {
  conn: ConnectOptions;
  repo: Repository;
  /** Where the repository lives; the staging folder is `staging/<id>` inside it. */
  target: Location;
  /** Keys for an S3 target: the server writes the staging folder with them (S3OPTION). */
  credentials?: S3Credentials;
  id: string;
  type: 'full' | 'incremental';
  baseId?: string;
  parallelism?: number;
  pool?: WorkerPool;
  /** Reuse chunk lists of unchanged TAE files of the previous backup (default true). */
  reuse?: boolean;
  onProgress?: (p: MoBackupProgress) => void;
  /** Test hook: runs after the server wrote the staging folder, before mobr reads it. */
  afterServerBackup?: (staging: Staging) => Promise<void>;
}

export async function backupFromMatrixOne(o: MoBackupOptions): Promise<Manifest> {
  const { repo, id } = o;
  assertBackupId(id);
  if (await repo.hasBackup(id)) throw new MobrError('REPO_EXISTS', `backup ${id} already exists in ${repo.store.location}`);
  let base: Manifest | undefined;
  if (o.type === 'incremental') {
    if (!o.baseId) throw new MobrError('BAD_INPUT', 'an incremental backup needs the ID of its base backup');
    base = await repo.loadManifest(o.baseId);
    if (!base.backupTs) throw new MobrError('BAD_INPUT', `base backup ${o.baseId} has no BACKUPTS (a cold backup, or one of a MatrixOne before v1.2); take a full backup`);
  } else if (o.baseId) {
    throw new MobrError('BAD_INPUT', 'a base backup is only for an incremental backup');
  }
  const previous = o.reuse === false ? undefined : base ?? (await latestServerManifest(repo));

  const client = await connect(o.conn); // wrong password / unreachable: nothing written yet
  const staging = stagingFor(o.target, repo.store, id, { credentials: o.credentials, parallelism: o.parallelism ?? 1 });
  try {
    const serverVersion = await client.version();
    if (base && !backupDialect(serverVersion).incremental) {
      throw new MobrError('BAD_INPUT', `MatrixOne at ${o.conn.host}:${o.conn.port} is ${serverVersion}, which has no incremental backup (TYPE/TIMESTAMP came with v1.2.0); take a full backup`);
    }
    await assertStagingEmpty(staging); // a leftover of another run is not ours to mix in or remove
    // a shared repository lock (spec/gc.md §2) from before the server writes until the manifest
    // is committed, so no gc runs meanwhile; taken after connecting: a failed login writes nothing
    return await withSharedLock(repo, (lock) => backupLocked(o, { client, serverVersion, staging, base, previous, lock }), { purpose: `backup ${id} from MatrixOne` });
  } finally {
    await bestEffort(client.close(), `close the connection to ${o.conn.host}:${o.conn.port}`);
  }
}

interface Locked {
  client: MoClient;
  serverVersion: string;
  staging: Staging;
  base?: Manifest;
  previous?: Manifest;
  lock: RepoLock;
}

async function backupLocked(o: MoBackupOptions, { client, serverVersion, staging, base, previous, lock }: Locked): Promise<Manifest> {
  const { repo, id } = o;
  const startedAt = Date.now();
  const ownPool = o.pool === undefined;
  let pool: WorkerPool | undefined;
  let ingestor: Ingestor | undefined;
  try {
    await repo.refreshIndex(); // a gc before the lock may have removed chunks we loaded
    await repo.dropUnsoundPacks(); // never dedup against a pack that is gone or damaged
    o.onProgress?.({ phase: 'server', bytesRead: 0, totalBytes: 0, filesDone: 0, totalFiles: 0 });
    await client.backup({ target: staging.target, incrementalFrom: base?.backupTs, serverVersion });
    await client.close();
    await o.afterServerBackup?.(staging);
    pool = o.pool ?? new WorkerPool(o.parallelism);
    ingestor = new Ingestor(repo, pool, repo.config.compression);
    const r = await ingestStaging(repo, staging, ingestor, pool.threads, { base, previous, id, onProgress: o.onProgress });
    await ingestor.finish();
    for (const f of r.files) {
      if (!allIndexed(repo, f)) throw new MobrError('NOT_FOUND', `backup ${id}: ${f.path} refers to chunks the repository lacks`);
    }
    const manifest: Manifest = {
      version: 1,
      id,
      type: o.type,
      baseId: base?.id,
      backupTs: r.backupTs,
      startedAt,
      completedAt: Date.now(),
      source: { kind: 'matrixone', host: o.conn.host, port: o.conn.port, user: o.conn.user, serverVersion },
      files: r.files,
      logicalSize: r.files.reduce((s, f) => s + f.size, 0),
      addedBytes: ingestor.writer.stats.storedBytes,
      extra: r.extra,
    };
    await lock.assertHeld(); // fencing: never commit after losing the lock
    await repo.saveManifest(manifest);
    await staging.remove();
    return manifest;
  } catch (e) {
    await bestEffort(async () => ingestor?.abandon(), 'drop the unfinished pack');
    await bestEffort(staging.remove(), `remove ${staging.description}`);
    throw e;
  } finally {
    if (ownPool) await pool?.close();
  }
}

/** The newest backup of a running MatrixOne in the repository, or undefined. */
export async function latestServerManifest(repo: Repository): Promise<Manifest | undefined> {
  let latest: Manifest | undefined;
  for (const bid of await repo.listBackupIds()) {
    const m = await repo.loadManifest(bid).catch((e) => (isMobrError(e) ? undefined : Promise.reject(e)));
    if (m && m.source.kind === 'matrixone' && (!latest || m.completedAt > latest.completedAt)) latest = m;
  }
  return latest;
}

interface IngestStagedOptions {
  id: string;
  base?: Manifest;
  previous?: Manifest;
  onProgress?: (p: MoBackupProgress) => void;
}

interface Ingested {
  files: FileEntry[];
  backupTs?: string;
  extra: Record<string, unknown>;
}

/**
 * Ingests a staged server backup (the folder MatrixOne's BACKUP wrote) into the repository
 * through `ingestor`; returns the manifest's files, BACKUPTS and extra facts. Writes no manifest.
 */
async function ingestStaging(repo: Repository, staging: Staging, ingestor: Ingestor, lanes: number, c: IngestStagedOptions): Promise<Ingested> {
  const layout = await readStagedLayout(staging);
  const plan = await planIngest(layout, { repo, id: c.id, base: c.base, previous: c.previous });
  const files = [...plan.kept];
  const progress: MoBackupProgress = {
    phase: 'ingest',
    bytesRead: plan.reusedBytes,
    totalBytes: plan.reusedBytes + plan.toRead.reduce((s, x) => s + x.size, 0),
    filesDone: plan.reusedFiles,
    totalFiles: plan.reusedFiles + plan.toRead.length,
  };
  c.onProgress?.(progress);
  await mapLimit(plan.toRead, lanes, async (x) => {
    files.push(await readOne(staging, ingestor, x));
    progress.bytesRead += x.size;
    progress.filesDone++;
    c.onProgress?.(progress);
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, backupTs: layout.sum.backupTS && formatTS(layout.sum.backupTS), extra: ingestFacts(layout, plan, files) };
}

/** Reads one staged file (unframed first when framed) into the repository and checks its SHA-256. */
async function readOne(staging: Staging, ingestor: Ingestor, x: ToRead): Promise<FileEntry> {
  const staged = await staging.localFile(x.rel, x.stagedSize);
  const local = x.framed ? await unframed(staged, x.rel) : staged;
  try {
    const f = await ingestor.ingest(local.path).catch((e) => Promise.reject(withContext(`ingest ${x.rel}`, e)));
    const got = toHex(f.sha256);
    if (f.size !== x.size || (x.sha256 !== undefined && got !== x.sha256)) {
      throw new MobrError('CORRUPT', `${x.rel}: sha256 ${got} (${f.size} bytes) does not match ${x.against} (${x.sha256 ?? 'no checksum'}, ${x.size} bytes)`);
    }
    return { path: x.rel, kind: 'file', size: f.size, mode: 0o644, mtimeMs: x.mtimeMs, sha256: f.sha256, chunks: f.chunks, meta: x.meta };
  } finally {
    await local.release();
    if (local !== staged) await staged.release();
  }
}

function ingestFacts(layout: StagedLayout, plan: IngestPlan, files: FileEntry[]): Record<string, unknown> {
  const known = new Set(files.map((f) => f.path));
  const ignored = [...layout.staged.keys()].filter((k) => !known.has(k) && !/\.(sha256|md5)$/.test(k)).sort();
  const { sum } = layout;
  return {
    moBackupTime: sum.backupTime, // UTC, as the server wrote it
    moBackupTimeMs: parseBackupTime(sum.backupTime),
    ...(sum.type !== undefined ? { moType: sum.type } : {}),
    moFraming: layout.framing,
    moListFields: layout.listFields,
    taeSize: sum.size,
    stagedBytes: [...layout.staged.values()].reduce((s, e) => s + e.size, 0),
    readBytes: plan.toRead.reduce((s, x) => s + x.size, 0),
    hashedFiles: files.filter((f) => f.meta?.sha256From === 'mobr').length,
    reusedFiles: plan.reusedFiles,
    reusedBytes: plan.reusedBytes,
    carriedFiles: plan.carriedFiles,
    ...(ignored.length ? { ignored: ignored.slice(0, 100) } : {}),
  };
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
