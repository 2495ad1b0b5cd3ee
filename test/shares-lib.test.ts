/**
 * A server backup in shares at the library level (src/mo/shared.ts, spec/scale.md §2): the
 * coordinator and two ingesters (each with its own Repository and lock, as separate processes
 * have) ingest the same staged bytes a single-process backup ingests, and the manifests are the
 * same; the plan, parts and staging folder are gone after; bad joins are refused before reading.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { joinShare, type SharesPlanned } from '../src/mo/shared.js';
import { Repository } from '../src/repo/repository.js';
import { encodePart, partKey, planHash, planKey, type BackupPart } from '../src/repo/parts.js';
import { FsStore } from '../src/store/fs.js';
import type { Manifest } from '../src/repo/manifest.js';
import { isMobrError } from '../src/errors.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startEmulator } from './emulator/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-shares-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}
async function repoAt(dir: string): Promise<Repository> {
  const r = await Repository.openOrInit(new FsStore(dir));
  cleanups.push(() => r.close());
  return r;
}
const errOf = (p: Promise<unknown>) => p.then(() => undefined, (e) => e);
/** What must be equal between two manifests of the same staged bytes. */
const comparable = (m: Manifest) => ({
  type: m.type,
  backupTs: m.backupTs,
  source: m.source,
  logicalSize: m.logicalSize,
  extra: m.extra,
  // mtimes: cp's preserveTimestamps rounds to the millisecond, so the copy's may be 1 ms off
  files: m.files.map((f) => ({ ...f, mtimeMs: 0, sha256: Buffer.from(f.sha256 ?? []).toString('hex'), chunks: Buffer.from(f.chunks ?? []).toString('hex') })),
});

describe('a server backup in shares (library)', () => {
  it('coordinator + two ingesters write the manifest a single process writes from the same staged bytes, full and incremental', async () => {
    const emu = await startEmulator({ home: await tmp(), objectSize: { min: 40_000, max: 80_000 } });
    cleanups.push(() => emu.close());
    await emu.simulateDay({ newObjects: 12 });
    const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
    const pool = new WorkerPool(2);
    cleanups.push(() => pool.close());
    const dirB = await tmp();
    const repoB = await repoAt(dirB);
    const dirA = await tmp();
    const repoA = await repoAt(dirA);

    /** One server backup in 3 shares into B, then the same staged bytes through one process into A. */
    const twoWays = async (ids: [string, string], inc?: [string, string]) => {
      const saved = await tmp();
      const joins: Promise<unknown>[] = [];
      let planned: SharesPlanned | undefined;
      const type = inc ? ('incremental' as const) : ('full' as const);
      const sharedM = await backupFromMatrixOne({
        conn, repo: repoB, target: { backupDir: 'filesystem', path: dirB }, id: ids[0], type, baseId: inc?.[0], pool, shares: 3,
        afterServerBackup: async (s) => cp(s.localDir!, saved, { recursive: true, preserveTimestamps: true }),
        onPlanned: (p) => {
          planned = p;
          // each ingester as a separate process would be: its own Repository (index, writer) and lock
          for (const share of [1, 2]) joins.push(repoAt(dirB).then((r) => joinShare({ repo: r, target: { backupDir: 'filesystem', path: dirB }, id: p.id, share, pool })));
        },
      });
      const joined = (await Promise.all(joins)) as { files: number; share: number; totalBytes: number; readBytes: number }[];
      expect(planned?.shares).toBe(3);
      expect(joined.map((j) => j.share)).toEqual([1, 2]);
      // totalBytes is the share's size; readBytes what the ingester read (every file of a share is read)
      expect(joined.map((j) => [j.totalBytes, j.readBytes])).toEqual([1, 2].map((i) => [planned!.bytes[i], planned!.bytes[i]]));
      expect(joined.every((j, i) => j.files === planned!.files[i + 1])).toBe(true);
      expect(planned!.files.every((n) => n > 0), `every share has files: ${planned!.files}`).toBe(true);
      const left = (await readdir(dirB, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dirB.length + 1));
      expect(left.filter((k) => !/^(backups|config|data|index)\b/.test(k)), 'no plan, part, staging or lock is left').toEqual([]);

      // the same staged bytes through one process: the server writes, then its folder is swapped for the saved one
      const singleM = await backupFromMatrixOne({
        conn, repo: repoA, target: { backupDir: 'filesystem', path: dirA }, id: ids[1], type, baseId: inc?.[1], pool,
        afterServerBackup: async (s) => {
          await rm(s.localDir!, { recursive: true });
          await cp(saved, s.localDir!, { recursive: true, preserveTimestamps: true });
        },
      });
      expect(comparable(sharedM)).toEqual(comparable(singleM));
      sharedM.files.forEach((f, i) => expect(Math.abs(f.mtimeMs - singleM.files[i]!.mtimeMs)).toBeLessThanOrEqual(1));
      expect(sharedM.addedBytes).toBeGreaterThan(0);
      return sharedM;
    };
    const full = await twoWays(['shared1', 'single1']);
    expect(full.files.length).toBeGreaterThan(12);
    await emu.simulateDay({ newObjects: 6 });
    const inc = await twoWays(['shared2', 'single2'], ['shared1', 'single1']);
    expect(inc.type).toBe('incremental');
    expect(inc.extra?.carriedFiles, 'the incremental carried files the server did not copy').toBeGreaterThan(0);
  }, 120_000);

  it('a join is refused before anything is read: no plan, share 0 or out of range, a share already stored, a finished backup', async () => {
    const dir = await tmp();
    const repo = await repoAt(dir);
    const target = { backupDir: 'filesystem' as const, path: dir };
    const noPlan = await errOf(joinShare({ repo, target, id: 'nope', share: 1 }));
    expect(isMobrError(noPlan, 'NOT_FOUND') && /no backup nope is waiting for shares/.test(noPlan.message), String(noPlan)).toBe(true);

    const emu = await startEmulator({ home: await tmp(), objectSize: { min: 20_000, max: 40_000 } });
    cleanups.push(() => emu.close());
    await emu.simulateDay({ newObjects: 4 });
    const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
    const checks: Promise<unknown>[] = [];
    const m = await backupFromMatrixOne({
      conn, repo, target, id: 'b2', type: 'full', shares: 2, parallelism: 1,
      onPlanned: (p) => {
        const other = repoAt(dir);
        checks.push((async () => {
          const r = await other;
          const zero = await errOf(joinShare({ repo: r, target, id: p.id, share: 0 }));
          const big = await errOf(joinShare({ repo: r, target, id: p.id, share: 2 }));
          await joinShare({ repo: r, target, id: p.id, share: 1 });
          const again = await errOf(joinShare({ repo: r, target, id: p.id, share: 1 }));
          return [zero, big, again];
        })());
      },
    });
    const [zero, big, again] = (await Promise.all(checks))[0] as Error[];
    expect(isMobrError(zero, 'BAD_INPUT') && /shares 1 to 1 \(share 0 is its coordinator's\)/.test(zero.message), String(zero)).toBe(true);
    expect(isMobrError(big, 'BAD_INPUT'), String(big)).toBe(true);
    // the coordinator may have finished before the second try: then the backup is complete (BAD_INPUT too)
    expect(isMobrError(again, 'BAD_INPUT') && /already (stored|complete)/.test(again.message), String(again)).toBe(true);
    expect(m.files.length).toBeGreaterThan(4);
    const done = await errOf(joinShare({ repo, target, id: 'b2', share: 1 }));
    expect(isMobrError(done, 'BAD_INPUT') && /already complete/.test(done.message), String(done)).toBe(true);
  }, 120_000);

  it('a part that does not follow the plan (another plan, other files) fails the backup: CORRUPT, no manifest, nothing left', async () => {
    const emu = await startEmulator({ home: await tmp(), objectSize: { min: 20_000, max: 40_000 } });
    cleanups.push(() => emu.close());
    await emu.simulateDay({ newObjects: 4 });
    const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
    for (const forge of ['plan', 'files'] as const) {
      const dir = await tmp();
      const repo = await repoAt(dir);
      const err = await errOf(backupFromMatrixOne({
        conn, repo, target: { backupDir: 'filesystem', path: dir }, id: `bad-${forge}`, type: 'full', shares: 2, parallelism: 1,
        onPlanned: (p) => {
          const part: BackupPart = { id: p.id, share: 1, shares: 2, plan: new Uint8Array(32), files: [], addedBytes: 0, startedAt: 0, completedAt: 0 };
          void (async () => {
            const bytes = await repo.store.get(planKey(p.id));
            if (forge === 'files') part.plan = planHash(bytes); // the right plan, but no files
            await repo.store.put(partKey(p.id, 1), encodePart(part));
          })();
        },
      }));
      expect(isMobrError(err, 'CORRUPT'), String(err)).toBe(true);
      expect(String(err)).toMatch(forge === 'plan' ? /parts\/bad-plan\/1: written for another plan/ : /parts\/bad-files\/1: its files are not the \d+ files of share 1/);
      const left = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
      expect(left.filter((k) => !/^(config|data|index)\b/.test(k)), 'no manifest, plan, part, staging or lock').toEqual([]);
    }
  }, 120_000);
});
