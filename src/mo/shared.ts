/**
 * One server backup ingested by several processes (spec/scale.md §2, spec/repository.md §10).
 *
 * - The coordinator (`mo_br backup --host … --shares k`, src/mo/ingest.ts) has MatrixOne write
 *   the staging folder as for any backup, then `coordinateShares`: cuts the files to read into k
 *   shares (shares.ts), writes the plan, reads share 0 itself, waits for a part of every other
 *   share, checks them against the plan and the reloaded index, and hands every entry back for
 *   the one manifest. It holds its shared lock throughout, so no gc runs meanwhile.
 * - An ingester (`mo_br backup --join <id> --share i`, `joinShare`) takes its own shared lock,
 *   reads its share straight from the staging folder in the repository's location, writes packs
 *   and index objects as any backup does, and then its part, whole or not at all. A crashed
 *   ingester leaves no part: its share is simply run again.
 */
import { MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { Ingestor } from '../backup/ingest.js';
import { assertBackupId, type FileEntry } from '../repo/manifest.js';
import type { BackupPart, BackupPlan, ShareFile } from '../repo/parts.js';
import type { Repository } from '../repo/repository.js';
import { writeSession, type WriteSession } from '../repo/session.js';
import { assertCoordinatorAlive, newParts, partAlreadyStored, partStored, planOf, storePart, storePlan } from '../repo/share-objects.js';
import type { Location, S3Credentials } from '../store/location.js';
import { mapLimit } from '../util/concurrency.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { readStagedFile } from './read-staged.js';
import { cutShares, shareBytes } from './shares.js';
import { stagingFor, type Staging } from './staging.js';
import { sleep } from '../util/sleep.js';

/** What the coordinator announces once its plan is stored: the other shares to run elsewhere. */
export interface SharesPlanned {
  id: string;
  shares: number;
  /** bytes and files of each share (index = share number) */
  bytes: number[];
  files: number[];
}

/** Progress of the files read so far (own share and parts that arrived). */
export interface ShareProgress {
  bytesRead: number;
  filesDone: number;
  /** parts of other shares still missing */
  waitingFor: number;
  /** the own share is read: waiting for the others' parts */
  waiting: boolean;
}

export interface CoordinateOptions {
  session: WriteSession;
  staging: Staging;
  ingestor: Ingestor;
  lanes: number;
  id: string;
  shares: number;
  onPlanned?: (p: SharesPlanned) => void;
  /** called as files are read and while waiting (a report only: the session's signal stops the backup) */
  onProgress?: (p: ShareProgress) => void;
  /** how often the parts are listed while waiting (default 250 ms growing to 2 s) */
  pollMs?: number;
  /** give up waiting for the other shares after this long (--shares_timeout; text as the user gave it) */
  deadline?: SharesDeadline;
}

export interface SharesDeadline {
  ms: number;
  text: string;
}

/**
 * The coordinator's part of a backup in shares: plan, own share, wait, check. Returns every
 * entry of the files read (own share and parts) and the bytes the other ingesters stored. The
 * caller writes the manifest, then removes the plan and the parts (removePlanAndParts).
 */
export async function coordinateShares(toRead: ShareFile[], o: CoordinateOptions): Promise<{ files: FileEntry[]; addedBytes: number }> {
  const { session, id } = o;
  const { repo } = session;
  const shares = cutShares(toRead, o.shares);
  const plan: BackupPlan = { id, repo: repo.config.id, lock: session.lock.key, createdAt: systemClock.now(), shares };
  const hash = await storePlan(session, plan);
  o.onPlanned?.({ id, shares: shares.length, bytes: shares.map(shareBytes), files: shares.map((s) => s.length) });
  const progress: ShareProgress = { bytesRead: 0, filesDone: 0, waitingFor: shares.length - 1, waiting: false };
  const own = await readShare(o.staging, o.ingestor, shares[0]!, o.lanes, progress, o.onProgress);
  await o.ingestor.finish(); // our packs and index objects are stored before we wait
  o.ingestor.onProgress = undefined; // from here the parts that arrive count
  const parts = await waitForParts(session, plan, hash, progress, o);
  await repo.loadIndex(); // the index objects the ingesters wrote
  return { files: [...own, ...parts.flatMap((p) => p.files)], addedBytes: parts.reduce((s, p) => s + p.addedBytes, 0) };
}

/**
 * Reads a share through `ingestor`, counting into `progress` the bytes as each batch of chunks is
 * read (one big object is not one step) and each file as it ends; the ingestor goes on reporting
 * as its last packs are stored.
 */
async function readShare(staging: Staging, ingestor: Ingestor, share: ShareFile[], lanes: number, progress: ShareProgress, onProgress?: (p: ShareProgress) => void): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  const from = { bytes: progress.bytesRead - ingestor.progress.bytesRead, files: progress.filesDone - ingestor.progress.filesDone };
  ingestor.onProgress = (p) => onProgress?.(Object.assign(progress, { bytesRead: from.bytes + p.bytesRead, filesDone: from.files + p.filesDone }));
  await mapLimit(share, lanes, async (x) => {
    files.push(await readStagedFile(staging, ingestor, x));
    ingestor.report(); // the file is done
  });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}


/** Waits until every share but 0 has its part; each is checked against the plan as it arrives. */
async function waitForParts(session: WriteSession, plan: BackupPlan, hash: Uint8Array, progress: ShareProgress, o: CoordinateOptions): Promise<BackupPart[]> {
  const got = new Map<number, BackupPart>();
  progress.waiting = true;
  let pause = o.pollMs ?? 250;
  const giveUpAt = o.deadline ? performance.now() + o.deadline.ms : Infinity; // monotonic: a clock jump neither ends nor stretches the wait
  while (got.size < plan.shares.length - 1) {
    if (performance.now() >= giveUpAt) throw sharesMissing(plan, got, o.deadline!);
    session.check(); // Ctrl-C or a lost lock stops the wait
    o.onProgress?.(progress);
    for (const part of await newParts(session, plan, hash, got)) {
      got.set(part.share, part);
      progress.bytesRead += shareBytes(plan.shares[part.share]!);
      progress.filesDone += part.files.length;
      progress.waitingFor = plan.shares.length - 1 - got.size;
      o.onProgress?.(progress);
    }
    if (got.size < plan.shares.length - 1) await sleep(Math.max(0, Math.min(pause, giveUpAt - performance.now())), session.signal);
    pause = o.pollMs ?? Math.min(2000, pause * 1.5);
  }
  return [...got.values()];
}

/** The deadline passed: one line naming the shares whose parts never came (the caller cleans up as on Ctrl-C). */
function sharesMissing(plan: BackupPlan, got: Map<number, BackupPart>, deadline: SharesDeadline): MobrError {
  const missing = plan.shares.map((_, i) => i).filter((i) => i > 0 && !got.has(i));
  const which = `share${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${plan.shares.length}`;
  const why = `did not arrive within --shares_timeout ${deadline.text}; nothing was written, run the whole backup again`;
  return new MobrError('UNREACHABLE', `backup ${plan.id}: ${which} ${why}`);
}

export interface JoinOptions {
  repo: Repository;
  /** Where the repository lives; the staging folder is `staging/<id>` inside it. */
  target: Location;
  /** Keys for an S3 target */
  credentials?: S3Credentials;
  id: string;
  share: number;
  parallelism?: number;
  pool?: WorkerPool;
  /** bytesUnstored: of bytesRead, plain bytes of new chunks not yet in a stored pack (IngestProgress). */
  onProgress?: (p: { bytesRead: number; totalBytes: number; filesDone: number; totalFiles: number; bytesUnstored: number }) => void;
  /** Runs once the share's chunks are stored and indexed, before the part is written. */
  beforePart?: () => Promise<void>;
  /** Ctrl-C / SIGTERM: stops the share at its next file (its lock's loss does too); nothing is written. */
  signal?: AbortSignal;
}

export interface JoinResult {
  id: string;
  share: number;
  shares: number;
  files: number;
  /** the share's size (its files' bytes) */
  totalBytes: number;
  /** the bytes this ingester read from the staged files (counted as they were read) */
  readBytes: number;
  addedBytes: number;
  /** when this ingester began its share (plan checked) and when its part was written, ms since the epoch */
  startedAt: number;
  completedAt: number;
}

/** An ingester: reads share `share` of backup `id` into the repository and writes its part. */
export async function joinShare(o: JoinOptions): Promise<JoinResult> {
  const { repo, id, share } = o;
  assertBackupId(id);
  return writeSession(repo, { purpose: `share ${share} of backup ${id} from MatrixOne`, signal: o.signal }, async (session) => {
    const { plan, hash } = await planToJoin(session, id, share);
    const files = plan.shares[share]!;
    const startedAt = systemClock.now();
    const pool = o.pool ?? await jobPool(shareBytes(files), o.parallelism); // a small share (or a busy machine): this thread
    const ingestor = new Ingestor(repo, pool, { writer: session.writer(), signal: session.signal }); // the signal stops it, not a report
    const staging = stagingFor(o.target, session.staging(id), id, { credentials: o.credentials, parallelism: o.parallelism ?? 1 });
    const total = { bytesRead: 0, totalBytes: shareBytes(files), filesDone: 0, totalFiles: files.length };
    const own: ShareProgress = { bytesRead: 0, filesDone: 0, waitingFor: 0, waiting: false };
    const report = () => o.onProgress?.({ ...total, bytesRead: own.bytesRead, filesDone: own.filesDone, bytesUnstored: ingestor.counted().bytesUnstored ?? 0 });
    try {
      const entries = await readShare(staging, ingestor, files, pool.threads, own, report);
      await ingestor.finish(); // reports each of the last packs stored
      session.assertIndexed(entries, `share ${share} of backup ${id}`);
      await o.beforePart?.();
      const part: BackupPart = { id, share, shares: plan.shares.length, plan: hash, files: entries, addedBytes: ingestor.writer.stats.storedBytes, startedAt, completedAt: systemClock.now() };
      await storePart(session, plan, part); // fenced, as a manifest is
      return { id, share, shares: plan.shares.length, files: entries.length, totalBytes: total.totalBytes, readBytes: own.bytesRead, addedBytes: part.addedBytes, startedAt, completedAt: systemClock.now() };
    } finally {
      await staging.release();
      if (o.pool === undefined) await pool.close();
    }
  });
}

/** The plan of the backup to join, refusing what cannot be joined; before anything is read. */
async function planToJoin(session: WriteSession, id: string, share: number): Promise<{ plan: BackupPlan; hash: Uint8Array }> {
  const { repo } = session;
  const done = () => new MobrError('BAD_INPUT', `backup ${id} is already complete in ${repo.store.location}`);
  const loaded = await planOf(session, id);
  if (!loaded) {
    if (await repo.hasBackup(id)) throw done();
    throw new MobrError('NOT_FOUND', `no backup ${id} is waiting for shares in ${repo.store.location} (wrong ID or repository, or its coordinator ended)`);
  }
  const { plan } = loaded;
  const k = plan.shares.length;
  if (!Number.isSafeInteger(share) || share < 1 || share >= k) {
    throw new MobrError('BAD_INPUT', `--share ${share}: backup ${id} has shares 1 to ${k - 1} (share 0 is its coordinator's)`);
  }
  if (await partStored(session, id, share)) throw partAlreadyStored(id, share);
  // the manifest is written before the parts are removed: a part gone since is a finished backup
  if (await repo.hasBackup(id)) throw done();
  await assertCoordinatorAlive(session, plan);
  return loaded;
}
