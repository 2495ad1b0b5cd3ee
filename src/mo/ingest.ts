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
import { MobrError, isMobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { bestEffort } from '../util/best-effort.js';
import { Ingestor } from '../backup/ingest.js';
import { assertBackupId, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { writeSession, type WriteSession } from '../repo/session.js';
import { removeShareObjects } from '../repo/share-objects.js';
import type { Location, S3Credentials } from '../store/location.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { backupDialect, connect, type ConnectOptions, type MoClient } from './client.js';
import { formatTS, parseBackupTime } from './layout.js';
import { assertStagingEmpty, stagingFor, type Staging } from './staging.js';
import { readStagedFile } from './read-staged.js';
import { seedFileIndex } from './file-index.js';
import { planIngest, type IngestPlan, type ToRead } from './ingest-plan.js';
import { readStagedLayout, type StagedLayout } from './staged.js';
import { mapLimit } from '../util/concurrency.js';
import { coordinateShares, type ShareProgress, type SharesDeadline, type SharesPlanned } from './shared.js';

export interface MoBackupProgress {
  /** 'shares': the own share is read, waiting for the other ingesters' parts */
  phase: 'server' | 'ingest' | 'shares';
  bytesRead: number;
  totalBytes: number;
  filesDone: number;
  totalFiles: number;
  /** Bytes of the files reused unread (counted in bytesRead, which is progress, not reading). */
  reusedBytes?: number;
  /** Plain bytes of new chunks read but not yet in a stored pack (IngestProgress.bytesUnstored). */
  bytesUnstored?: number;
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
  /**
   * Ingest in this many shares (spec/scale.md): this process reads share 0 and waits for the
   * parts of the others, run by `joinShare` anywhere; default 1 (no plan, no parts).
   */
  shares?: number;
  /** With shares: give up waiting for the other shares after this long (default: wait). */
  sharesDeadline?: SharesDeadline;
  /** Called once the plan is stored, so the other shares can be started. */
  onPlanned?: (p: SharesPlanned) => void;
  /** Test hook: runs after the server wrote the staging folder, before mobr reads it. */
  afterServerBackup?: (staging: Staging) => Promise<void>;
  /**
   * Ctrl-C / SIGTERM: stops the backup at its next step (the server's statement too: its
   * connection is closed); the loss of the repository lock does the same. Nothing is committed.
   */
  signal?: AbortSignal;
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
  try {
    const serverVersion = await client.version();
    if (base && !backupDialect(serverVersion).incremental) {
      throw new MobrError('BAD_INPUT', `MatrixOne at ${o.conn.host}:${o.conn.port} is ${serverVersion}, which has no incremental backup (TYPE/TIMESTAMP came with v1.2.0); take a full backup`);
    }
    // a write session (shared lock, spec/gc.md §2) from before the server writes until the manifest
    // is committed, so no gc runs meanwhile; taken after connecting: a failed login writes nothing
    return await writeSession(repo, { purpose: `backup ${id} from MatrixOne`, signal: o.signal }, async (session) => {
      const staging = stagingFor(o.target, session.staging(id), id, { credentials: o.credentials, parallelism: o.parallelism ?? 1 });
      await assertStagingEmpty(staging); // a leftover of another run is not ours to mix in or remove
      return backupLocked(o, { client, serverVersion, staging, base, previous, session });
    });
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
  session: WriteSession;
}

async function backupLocked(o: MoBackupOptions, { client, serverVersion, staging, base, previous, session }: Locked): Promise<Manifest> {
  const { repo, id } = o;
  const startedAt = systemClock.now();
  const ownPool = o.pool === undefined;
  let pool: WorkerPool | undefined;
  try {
    o.onProgress?.({ phase: 'server', bytesRead: 0, totalBytes: 0, filesDone: 0, totalFiles: 0 });
    const index = await seedFileIndex(repo, staging, { serverVersion, previous, base }); // v3.0.6+ copies only what it does not name
    await client.backup({ target: staging.target, incrementalFrom: base?.backupTs, serverVersion }, session.signal);
    await index?.remove();
    await client.close();
    await o.afterServerBackup?.(staging);
    session.check();
    const layout = await readStagedLayout(staging);
    const plan = await planIngest(layout, { repo, id, base, previous });
    // a small ingest (or one on a busy machine) reads in this thread: a worker's start-up costs more than it saves
    pool = o.pool ?? await jobPool(plan.toRead.reduce((s, x) => s + x.size, 0), o.parallelism);
    const shared = (o.shares ?? 1) > 1 ? { shares: o.shares!, onPlanned: o.onPlanned, deadline: o.sharesDeadline } : undefined;
    const r = await ingestStaging(staging, { layout, plan }, { session, pool }, { id, onProgress: o.onProgress, shared });
    session.assertIndexed(r.files, `backup ${id}`);
    // every staged byte is now in stored packs: the server's plaintext copy goes at once (spec/encryption.md §10)
    await staging.remove();
    const manifest: Manifest = {
      version: 1,
      id,
      type: o.type,
      baseId: base?.id,
      backupTs: r.backupTs,
      startedAt,
      completedAt: systemClock.now(),
      source: { kind: 'matrixone', host: o.conn.host, port: o.conn.port, user: o.conn.user, serverVersion },
      files: r.files,
      logicalSize: r.files.reduce((s, f) => s + f.size, 0),
      addedBytes: r.addedHere + r.addedElsewhere,
      extra: r.extra,
    };
    await session.commit(manifest); // every chunk indexed, the lock still ours, then the manifest
    // the backup is committed: a plan or part left now is garbage gc removes, not a failure
    if (shared) await bestEffort(removeShareObjects(repo, id), `remove the plan and parts of backup ${id}`);
    return manifest;
  } catch (e) {
    if ((o.shares ?? 1) > 1) await bestEffort(removeShareObjects(repo, id), `remove the plan and parts of backup ${id}`);
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
  onProgress?: (p: MoBackupProgress) => void;
  /** read in shares: this process reads share 0, other ingesters the rest (shared.ts) */
  shared?: { shares: number; onPlanned?: (p: SharesPlanned) => void; deadline?: SharesDeadline };
}

interface Ingested {
  files: FileEntry[];
  backupTs?: string;
  extra: Record<string, unknown>;
  /** bytes this process stored (the new chunks' stored size) */
  addedHere: number;
  /** bytes the other ingesters of a backup in shares stored */
  addedElsewhere: number;
}

/**
 * Ingests a staged server backup (the folder MatrixOne's BACKUP wrote, as laid out and planned)
 * into the repository in `session` (its chunks stored and indexed when it returns); returns the
 * manifest's files, BACKUPTS and extra facts. Writes no manifest.
 */
async function ingestStaging(staging: Staging, staged: { layout: StagedLayout; plan: IngestPlan }, run: { session: WriteSession; pool: WorkerPool }, c: IngestStagedOptions): Promise<Ingested> {
  const [{ layout, plan }, { session, pool }] = [staged, run];
  const files = [...plan.kept];
  const progress: MoBackupProgress = {
    phase: 'ingest',
    bytesRead: plan.reusedBytes,
    reusedBytes: plan.reusedBytes,
    totalBytes: plan.reusedBytes + plan.toRead.reduce((s, x) => s + x.size, 0),
    filesDone: plan.reusedFiles,
    totalFiles: plan.reusedFiles + plan.toRead.length,
  };
  const ingestor = new Ingestor(session.repo, pool, { writer: session.writer(), signal: session.signal }); // the signal stops it, not a report
  c.onProgress?.(progress);
  const kept = { bytes: progress.bytesRead, files: progress.filesDone };
  let addedElsewhere = 0;
  if (c.shared) {
    // readShare counts the chunks read (own share) and the parts that arrive
    const report = (p: ShareProgress) => {
      const phase = p.waitingFor > 0 && p.waiting ? 'shares' : 'ingest';
      const { bytesUnstored } = ingestor.counted();
      c.onProgress?.({ ...progress, phase, bytesRead: kept.bytes + p.bytesRead, filesDone: kept.files + p.filesDone, bytesUnstored });
    };
    const r = await coordinateShares(plan.toRead, { staging, ingestor, lanes: pool.threads, id: c.id, session, ...c.shared, onProgress: report });
    files.push(...r.files);
    addedElsewhere = r.addedBytes;
  } else {
    // bytes as each batch of chunks is read, not a file's size when it ends: one big object is not one step
    ingestor.onProgress = (p) => {
      Object.assign(progress, { bytesRead: kept.bytes + p.bytesRead, filesDone: kept.files + p.filesDone, bytesUnstored: p.bytesUnstored });
      c.onProgress?.(progress);
    };
    await mapLimit(plan.toRead, pool.threads, async (x) => {
      files.push(await readStagedFile(staging, ingestor, x));
      ingestor.report(); // the file is done
    });
  }
  await ingestor.finish();
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const backupTs = layout.sum.backupTS && formatTS(layout.sum.backupTS);
  return { files, backupTs, extra: ingestFacts(layout, plan, files), addedHere: ingestor.writer.stats.storedBytes, addedElsewhere };
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
