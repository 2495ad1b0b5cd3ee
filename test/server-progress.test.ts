/**
 * #24: a server backup's progress (the single process, a coordinator's own share and an
 * ingester's `backup --join`) counts bytes as they are read, not a file's size when it ends: a
 * big object file moves the line while it is read. On a terminal the line shows done/total, the
 * rate and an ETA, and is cleared before the command's own output. (The terminal case checks the
 * drawing; the library cases are the ones that fail when bytes are counted per whole file.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFromMatrixOne, type MoBackupProgress } from '../src/mo/ingest.js';
import { joinShare } from '../src/mo/shared.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { ensureBuilt } from './helpers/cli.js';
import { expectEtaCleared, hasScript, onTerminal } from './helpers/tty.js';

const BIG = 3 << 20; // two read batches (of 2 MiB, src/workers/files-task.ts): one step inside each object
let work: string;
let emu: Emulator;
let pool: WorkerPool;
const conn = () => ({ host: emu.host, port: emu.port, user: 'dump', password: '111' });

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'mobr-server-progress-'));
  emu = await startEmulator({ home: join(work, 'mo'), objectSize: { min: BIG, max: BIG } });
  pool = new WorkerPool(1);
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await emu?.close();
  await rm(work, { recursive: true, force: true });
});

/** Reports in which the bytes read moved while the count of files done did not: progress inside a file. */
function insideAFile(seen: { bytesRead: number; filesDone: number }[]): number {
  let n = 0;
  for (let i = 1; i < seen.length; i++) if (seen[i]!.filesDone === seen[i - 1]!.filesDone && seen[i]!.bytesRead > seen[i - 1]!.bytesRead) n++;
  return n;
}

describe('server backup progress counts bytes as they are read', () => {
  it('one process: the bytes move inside each big object; all counted at the end', async () => {
    const dir = join(work, 'repo-one');
    const repo = await Repository.openOrInit(new FsStore(dir));
    const seen: MoBackupProgress[] = [];
    try {
      await backupFromMatrixOne({ conn: conn(), repo, target: { backupDir: 'filesystem', path: dir }, id: 'one', type: 'full', pool, onProgress: (p) => seen.push({ ...p }) });
    } finally {
      await repo.close();
    }
    const ingest = seen.filter((p) => p.phase === 'ingest');
    expect(insideAFile(ingest), JSON.stringify(ingest.map((p) => [p.filesDone, p.bytesRead]))).toBeGreaterThanOrEqual(2); // every object file is BIG, even the catalog's
    const last = ingest.at(-1)!;
    expect([last.bytesRead, last.filesDone]).toEqual([last.totalBytes, last.totalFiles]);
    expect(last.totalBytes).toBeGreaterThan(2 * BIG);
    expect(seen.filter((p) => p.phase === 'server')).toHaveLength(1); // the server's own step comes first
  });

  it('in shares: the coordinator and an ingester (--join) each count inside a file', async () => {
    const dir = join(work, 'repo-shares');
    const target = { backupDir: 'filesystem' as const, path: dir };
    const repo = await Repository.openOrInit(new FsStore(dir));
    const own: MoBackupProgress[] = [];
    const joined: { bytesRead: number; filesDone: number; totalBytes: number; totalFiles: number }[] = [];
    let join1: Promise<unknown> | undefined;
    try {
      await backupFromMatrixOne({
        conn: conn(), repo, target, id: 'shared', type: 'full', pool, shares: 2,
        onProgress: (p) => own.push({ ...p }),
        onPlanned: (p) => {
          join1 = Repository.open(new FsStore(dir)).then(async (r) => {
            try {
              return await joinShare({ repo: r, target, id: p.id, share: 1, pool, onProgress: (q) => joined.push({ ...q }) });
            } finally {
              await r.close();
            }
          });
        },
      });
      await join1;
    } finally {
      await repo.close();
    }
    // shares are cut by bytes: each has big objects
    expect(insideAFile(own.filter((p) => p.phase === 'ingest')), JSON.stringify(own.map((p) => [p.phase, p.filesDone, p.bytesRead]))).toBeGreaterThanOrEqual(2);
    expect(insideAFile(joined), JSON.stringify(joined.map((p) => [p.filesDone, p.bytesRead]))).toBeGreaterThanOrEqual(2);
    const last = joined.at(-1)!;
    expect([last.bytesRead, last.filesDone]).toEqual([last.totalBytes, last.totalFiles]);
    expect(own.at(-1)!.bytesRead).toBe(own.at(-1)!.totalBytes); // the part that arrived counts whole
  });

  it.skipIf(!hasScript)('./mo_br backup --host on a terminal: done/total, rate and ETA, cleared before its output', async () => {
    const dir = join(work, 'repo-tty');
    await (await Repository.init(new FsStore(dir), { packSize: 1 << 20 })).close(); // packs of 1 MiB: stored as each object is read
    const c = conn();
    const args = ['backup', '--host', c.host, '--port', String(c.port), '--user', c.user, '--password', c.password, '--backup_dir', 'filesystem', '--path', dir, '--meta_path', join(work, 'tty.meta')];
    const r = await onTerminal(args, work);
    expect(r.code, r.out).toBe(0);
    expectEtaCleared(r.out, 'backup');
    const lines = r.out.split('\r\x1b[K').filter((l) => /^backup  \d+%/.test(l));
    expect(lines.some((l) => /^backup  \d+%  [\d.]+ [kM]?B \/ [\d.]+ MB  \d+\/\d+ files  [\d.]+ [kM]?B\/s  ETA (\d+h\d\dm|\d+m\d\ds|\d+s)/.test(l)), JSON.stringify(lines)).toBe(true);
    expect(r.out).toMatch(/Backup ID\r?\n\s+\S+/);
  });
});
