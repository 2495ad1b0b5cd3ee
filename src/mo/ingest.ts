/**
 * A backup of a running MatrixOne into a repository (the library API under `mo_br backup --host`).
 *
 * 1. MatrixOne's BACKUP statement writes its layout into a staging folder inside the
 *    repository's location (staging.ts); incremental backups pass the base's BACKUPTS
 *    (`TYPE 'incremental' TIMESTAMP '<ts>'`, spec/matrixone.md "Statement").
 * 2. Every staged file is checked against the server's own checksums: tae_list's SHA-256 for
 *    TAE files, the `.sha256` (or `.md5`) sidecar for mo_meta, config/*, tae_list, tae_sum and
 *    hakeeper/hk_data. A mismatch aborts with one CORRUPT line naming the file.
 * 3. Files go into the repository; rows MatrixOne marked needCopy=false are carried from the base
 *    manifest (they must be there). Beyond mo_br: a TAE file whose name, size and server checksum
 *    equal an entry of the previous backup reuses that entry's chunks unread (objects are immutable),
 *    so a full backup costs about what an incremental does.
 * 4. The manifest is written last and lists every file (self-contained); the staging folder is
 *    removed after it, and on any failure (no manifest is left then).
 *
 * Manifest paths are the layout's paths (`mo_meta`, `config/…`, `tae/…`, `hakeeper/hk_data`).
 * Sidecars are not stored as files: `meta.sidecar` says which algorithm MatrixOne used and
 * restore.ts re-emits them (the SHA-256 is FileEntry.sha256; an MD5 is kept in `meta.md5`).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MobrError, isMobrError, withContext } from '../errors.js';
import { allIndexed } from '../backup/backup.js';
import { Ingestor } from '../backup/ingest.js';
import { toHex } from '../hash/hex.js';
import { assertBackupId, type FileEntry, type Manifest } from '../repo/manifest.js';
import { withSharedLock, type RepoLock } from '../repo/lock.js';
import type { Repository } from '../repo/repository.js';
import type { StoreSpec } from '../store/open.js';
import type { StoreEntry } from '../store/store.js';
import { WorkerPool } from '../workers/pool.js';
import { connect, type ConnectOptions, type MoClient } from './client.js';
import { formatTS, parseMoMeta, parseTaeList, parseTaeSum, sidecarPath, verifySidecar, type SidecarAlgo, type TaeFileEntry } from './layout.js';
import { assertStagingEmpty, stagingFor, type Staging } from './staging.js';
import { framedSize, looksFramed, unframe, unframeFile } from './framing.js';

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
  target: StoreSpec;
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

/** Files written through MatrixOne's writeFile, which carry a checksum sidecar (pkg/backup/fs.go). */
export const isWrittenFile = (p: string): boolean => p === 'mo_meta' || p === 'tae/tae_list' || p === 'tae/tae_sum' || p === 'hakeeper/hk_data' || p.startsWith('config/');

export async function backupFromMatrixOne(o: MoBackupOptions): Promise<Manifest> {
  const { repo, id } = o;
  assertBackupId(id);
  if (await repo.hasBackup(id)) throw new MobrError('REPO_EXISTS', `backup ${id} already exists in ${repo.store.location}`);
  let base: Manifest | undefined;
  if (o.type === 'incremental') {
    if (!o.baseId) throw new MobrError('BAD_INPUT', 'an incremental backup needs the ID of its base backup');
    base = await repo.loadManifest(o.baseId);
    if (!base.backupTs) throw new MobrError('BAD_INPUT', `base backup ${o.baseId} has no BACKUPTS (not a backup of a running MatrixOne); take a full backup`);
  } else if (o.baseId) {
    throw new MobrError('BAD_INPUT', 'a base backup is only for an incremental backup');
  }
  const previous = o.reuse === false ? undefined : base ?? (await latestServerManifest(repo));

  const client = await connect(o.conn); // wrong password / unreachable: nothing written yet
  const staging = stagingFor(o.target, repo.store, id, o.parallelism ?? 1);
  try {
    await assertStagingEmpty(staging); // a leftover of another run is not ours to mix in or remove
    // a shared repository lock (spec/gc.md §2) from before the server writes until the manifest
    // is committed, so no gc runs meanwhile; taken after connecting: a failed login writes nothing
    return await withSharedLock(repo, (lock) => backupLocked(o, { client, staging, base, previous, lock }), { purpose: `backup ${id} from MatrixOne` });
  } finally {
    await client.close().catch(() => undefined);
  }
}

interface Locked {
  client: MoClient;
  staging: Staging;
  base?: Manifest;
  previous?: Manifest;
  lock: RepoLock;
}

async function backupLocked(o: MoBackupOptions, { client, staging, base, previous, lock }: Locked): Promise<Manifest> {
  const { repo, id } = o;
  const startedAt = Date.now();
  const ownPool = o.pool === undefined;
  let pool: WorkerPool | undefined;
  let ingestor: Ingestor | undefined;
  try {
    await repo.refreshIndex(); // a gc before the lock may have removed chunks we loaded
    const serverVersion = await client.version();
    o.onProgress?.({ phase: 'server', bytesRead: 0, totalBytes: 0, filesDone: 0, totalFiles: 0 });
    await client.backup({ target: staging.target, incrementalFrom: base?.backupTs });
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
    await ingestor?.abandon().catch(() => undefined);
    await staging.remove().catch(() => undefined);
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

interface IngestContext {
  base?: Manifest;
  previous?: Manifest;
  id: string;
  onProgress?: (p: MoBackupProgress) => void;
}

interface Ingested {
  files: FileEntry[];
  backupTs: string;
  extra: Record<string, unknown>;
}

async function ingestStaging(repo: Repository, staging: Staging, ingestor: Ingestor, lanes: number, c: IngestContext): Promise<Ingested> {
  const staged = await staging.list();
  const need = (rel: string): StoreEntry => {
    const e = staged.get(rel);
    if (!e) throw new MobrError('CORRUPT', `${rel}: missing from the backup MatrixOne wrote to ${staging.description}`);
    return e;
  };
  for (const rel of ['mo_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) need(rel);

  // Small files written through writeFile: read whole, checked against their sidecars.
  const written = new Map<string, { data: Uint8Array; sidecar?: SidecarAlgo; md5?: string; framed: boolean }>();
  const readWritten = async (rel: string) => {
    let data = await staging.get(rel);
    // tae/ and hakeeper/ are written through the backup fileservice: LocalFS-framed on a DISK backend
    const framed = (rel.startsWith('tae/') || rel.startsWith('hakeeper/')) && looksFramed(data);
    if (framed) data = unframe(data, rel);
    let sidecar: SidecarAlgo | undefined;
    for (const algo of ['sha256', 'md5'] as const) {
      if (!staged.has(sidecarPath(rel, algo))) continue;
      verifySidecar(data, await staging.get(sidecarPath(rel, algo)), algo, rel);
      sidecar ??= algo;
    }
    const md5 = sidecar === 'md5' ? createHash('md5').update(data).digest('hex') : undefined;
    written.set(rel, { data, sidecar, md5, framed });
    return data;
  };
  const meta = parseMoMeta(await readWritten('mo_meta'));
  for (const m of meta) if (m.type === 'launchconfig') { need(`config/${m.file}`); await readWritten(`config/${m.file}`); }
  const list = parseTaeList(await readWritten('tae/tae_list'));
  const sum = parseTaeSum(await readWritten('tae/tae_sum'));
  await readWritten('hakeeper/hk_data');
  const listed = list.reduce((s, e) => s + e.size, 0);
  if (listed !== sum.size) throw new MobrError('CORRUPT', `tae/tae_sum: size ${sum.size} is not the sum of tae/tae_list's sizes (${listed})`);
  const backupTs = formatTS(sum.backupTS);

  const prevByPath = new Map((c.previous?.files ?? []).map((f) => [f.path, f]));
  const baseByPath = new Map((c.base?.files ?? []).map((f) => [f.path, f]));
  const files: FileEntry[] = [];
  const toRead: { rel: string; size: number; stagedSize: number; framed: boolean; mtimeMs: number; meta: Record<string, string>; sha256?: string }[] = [];
  let reusedBytes = 0;
  let reusedFiles = 0;
  let carriedFiles = 0;
  let stagedBytes = 0;
  for (const [rel, w] of written) {
    const e = staged.get(rel)!;
    stagedBytes += e.size;
    const meta: Record<string, string> = {};
    if (w.sidecar) meta.sidecar = w.sidecar;
    if (w.md5) meta.md5 = w.md5;
    toRead.push({ rel, size: w.data.length, stagedSize: e.size, framed: w.framed, mtimeMs: mtime(e), meta, sha256: createHash('sha256').update(w.data).digest('hex') });
  }
  const seen = new Set<string>();
  for (const row of list) {
    const rel = `tae/${row.path}`;
    if (seen.has(rel) || written.has(rel)) throw new MobrError('CORRUPT', `tae/tae_list: ${row.path} is listed twice`);
    seen.add(rel);
    const meta = taeMeta(row);
    if (!row.needCopy) {
      const from = baseByPath.get(rel);
      if (!c.base) throw new MobrError('CORRUPT', `tae/tae_list: ${row.path} is marked needCopy=false in a full backup`);
      if (!from || from.kind !== 'file' || from.size !== row.size || !allIndexed(repo, from)) {
        throw new MobrError('NOT_FOUND', `backup ${c.id}: MatrixOne did not copy ${rel} (needCopy=false) and base backup ${c.base.id} does not hold it; take a full backup`);
      }
      files.push({ ...from, meta: { ...meta, checksum: from.meta?.checksum ?? '' } });
      carriedFiles++;
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(row.checksum)) throw new MobrError('CORRUPT', `tae/tae_list: ${row.path} has no SHA-256 checksum`);
    const e = need(rel);
    const framed = e.size !== row.size && e.size === framedSize(row.size); // a DISK (LocalFS) backup target
    if (e.size !== row.size && !framed) throw new MobrError('CORRUPT', `${rel}: ${e.size} bytes staged, tae/tae_list says ${row.size}`);
    stagedBytes += e.size;
    const prev = prevByPath.get(rel);
    if (prev && prev.kind === 'file' && prev.size === row.size && prev.meta?.checksum === row.checksum && allIndexed(repo, prev)) {
      files.push({ ...prev, mtimeMs: mtime(e), meta });
      reusedBytes += row.size;
      reusedFiles++;
      continue;
    }
    toRead.push({ rel, size: row.size, stagedSize: e.size, framed, mtimeMs: mtime(e), meta, sha256: row.checksum });
  }

  const progress: MoBackupProgress = { phase: 'ingest', bytesRead: reusedBytes, totalBytes: reusedBytes + toRead.reduce((s, x) => s + x.size, 0), filesDone: reusedFiles, totalFiles: reusedFiles + toRead.length };
  c.onProgress?.(progress);
  let next = 0;
  const lane = async () => {
    while (next < toRead.length) {
      const x = toRead[next++]!;
      const staged = await staging.localFile(x.rel, x.stagedSize);
      const local = x.framed ? await unframed(staged, x.rel) : staged;
      try {
        const f = await ingestor.ingest(local.path).catch((e) => Promise.reject(withContext(`ingest ${x.rel}`, e)));
        const got = toHex(f.sha256);
        if (f.size !== x.size || got !== x.sha256) {
          const against = !isWrittenFile(x.rel) ? 'tae/tae_list' : 'the bytes checked against its sidecar';
          throw new MobrError('CORRUPT', `${x.rel}: sha256 ${got} (${f.size} bytes) does not match ${against} (${x.sha256}, ${x.size} bytes)`);
        }
        files.push({ path: x.rel, kind: 'file', size: f.size, mode: 0o644, mtimeMs: x.mtimeMs, sha256: f.sha256, chunks: f.chunks, meta: x.meta });
      } finally {
        await local.release();
        if (local !== staged) await staged.release();
      }
      progress.bytesRead += x.size;
      progress.filesDone++;
      c.onProgress?.(progress);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));

  const known = new Set(files.map((f) => f.path));
  const ignored = [...staged.keys()].filter((k) => !known.has(k) && !/\.(sha256|md5)$/.test(k)).sort();
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    files,
    backupTs,
    extra: {
      moBackupTime: sum.backupTime,
      moType: sum.type,
      taeSize: sum.size,
      stagedBytes,
      readBytes: toRead.reduce((s, x) => s + x.size, 0),
      reusedFiles,
      reusedBytes,
      carriedFiles,
      ...(ignored.length ? { ignored: ignored.slice(0, 100) } : {}),
    },
  };
}

/** A raw temp copy of a LocalFS-framed staged file. */
async function unframed(staged: { path: string }, rel: string): Promise<{ path: string; release(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mobr-unframe-'));
  const file = join(dir, 'raw');
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    await unframeFile(staged.path, file, rel);
  } catch (e) {
    await release();
    throw e;
  }
  return { path: file, release };
}

function taeMeta(row: TaeFileEntry): Record<string, string> {
  return { checksum: row.checksum, needCopy: String(row.needCopy), ts: formatTS(row.ts) };
}

function mtime(e: StoreEntry): number {
  return Math.trunc(e.mtimeMs ?? Date.now());
}

