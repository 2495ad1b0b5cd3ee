/**
 * Issue #24.3/#24.4 on a pseudo-terminal (`script` from util-linux): check's progress line is
 * cleared before every line it writes to stdout, counts files as the summary does (not folders),
 * and carries an ETA once it has one; piped, nothing of it shows.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobr, mobrIn, MO_BR } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';
import { etaSeconds, formatEta } from '../src/cli/progress.js';
import { expectEtaCleared, hasScript, onTerminal } from './helpers/tty.js';
import { backup, openRepository } from '../src/index.js';
import { WorkerPool } from '../src/workers/pool.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';
import { FsStore } from '../src/store/fs.js';
import { StoreDecorator } from '../src/store/decorator.js';
import type { PutOptions, Store } from '../src/store/store.js';

let root: string;
let id: string;

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-progress-');
  await fsp.mkdir(path.join(root, 'd/sub/deeper'), { recursive: true });
  for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(root, 'd/sub', `f${i}`), `${i}\n`);
  const b = await mobrIn(['backup', '--data_dir', 'd', '--backup_dir', 'filesystem', '--path', 'repo', '--json', '--meta_path', 'm'], root);
  expect(b.code, b.stderr).toBe(0);
  id = JSON.parse(b.stdout).id;
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('progress on a terminal', () => {
  it.skipIf(!hasScript)('check: cleared before each stdout line, counted in files', () => {
    const cmd = `${process.execPath} ${MO_BR} check ${id} --meta_path m`;
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: root, encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    expect(r.status, r.stdout).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`check ${id} .*1/3 files`)); // 3 files, not the 5 entries with the folders
    expect(out).not.toMatch(/\d+\/5 files/);
    // every check: line starts a line, or follows the sequence that cleared the progress line
    for (const m of out.matchAll(/check: sub\/f\d/g)) {
      const before = out.slice(Math.max(0, m.index! - 4), m.index);
      expect(before.endsWith('\n') || before.endsWith('\r\x1b[K'), JSON.stringify(out.slice(Math.max(0, m.index! - 60), m.index! + 20))).toBe(true);
    }
  });

  it('piped: no progress at all', async () => {
    const r = await mobr(['check', id, '--meta_path', 'm'], root);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\x1b[K');
    expect(r.stdout).not.toContain('\x1b[K');
  });

  it('ETA from the rate so far', () => {
    expect(etaSeconds({ bytes: 25, totalBytes: 100 }, 10)).toBe(30);
    expect(etaSeconds({ files: 1, totalFiles: 4 }, 2)).toBe(6);
    expect(etaSeconds({ bytes: 25, totalBytes: 100 }, 0.5)).toBeUndefined();
    // measured from the phase's first update: 50 reused bytes at the start do not count as speed
    expect(etaSeconds({ bytes: 60, totalBytes: 100 }, 10, { bytes: 50, files: 0 })).toBe(40);
    expect([formatEta(7), formatEta(185), formatEta(7440)]).toEqual(['7s', '3m05s', '2h04m']);
  });
});

describe('an ETA for every long command, on a terminal only', () => {
  const M = ['--meta_path', 'm'];
  let bid: string;
  it.skipIf(!hasScript)('backup: done/total, rate and ETA, cleared before its output', async () => {
    await fsp.mkdir(path.join(root, 'big'));
    // 6 MB that do not compress, in packs of 1 MiB: the line counts stored bytes, so it moves as each pack is stored
    for (let i = 0; i < 6; i++) await fsp.writeFile(path.join(root, 'big', `f${i}`), randomBytes(1 << 20));
    await (await Repository.init(new FsStore(path.join(root, 'repo2')), { packSize: 1 << 20 })).close();
    const b = await onTerminal(['backup', '--data_dir', 'big', '--backup_dir', 'filesystem', '--path', 'repo2', ...M], root);
    expect(b.code, b.out).toBe(0);
    expectEtaCleared(b.out, 'backup');
    expect(b.out).toMatch(/backup  \d+%  [\d.]+ MB \/ 6\.3 MB  \d\/6 files/);
    bid = /Backup ID\r?\n\s+(\S+)/.exec(b.out)![1]!;
  });

  it.skipIf(!hasScript)('restore: the same; with --json on a terminal, none', async () => {
    const r = await onTerminal(['restore', bid, '--restore_dir', 'filesystem', '--restore_path', 'back', ...M], root);
    expect(r.code, r.out).toBe(0);
    expectEtaCleared(r.out, 'restore');
    const j = await onTerminal(['restore', bid, '--restore_dir', 'filesystem', '--restore_path', 'back2', '--json', ...M], root);
    expect(j.code, j.out).toBe(0);
    expect(JSON.parse(j.out.replace(/\r/g, '')).schema).toMatch(/restore/);
    expect(j.out).not.toContain('\x1b[K');
  });

  /** Four backups of d/ in repo3 (through the library: quick), each with a file of its own in packs of its own. */
  async function fourBackups(): Promise<string[]> {
    const repo = await openRepository(path.join(root, 'repo3'), { create: true, packSize: 64 << 10 }); // small packs: several to sync
    const pool = new WorkerPool(1);
    const ids: string[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        await fsp.writeFile(path.join(root, 'd/extra'), randomBytes(200_000)); // packs a prune can drop
        ids.push((await backup(repo, path.join(root, 'd'), { pool })).id);
      }
    } finally {
      await pool.close();
      await repo.close();
    }
    return ids;
  }
  const at = ['--backup_dir', 'filesystem', '--backup_path', 'repo3', ...M];
  let ids: string[];

  it.skipIf(!hasScript)('sync: packs done/total and ETA', async () => {
    ids = await fourBackups();
    const r = await onTerminal(['sync', ...at, '--target_dir', 'filesystem', '--target_path', 'mirror'], root);
    expect(r.code, r.out).toBe(0);
    expectEtaCleared(r.out, 'sync');
    expect(r.out).toMatch(/sync  \d+%  [\d.]+ [kM]B \/ [\d.]+ [kM]B  \d+\/\d+ packs/);
  });

  it.skipIf(!hasScript)('sync --limit_upload: one big pack moves the line by its bytes, with an ETA, before it is stored', async () => {
    const repo = await openRepository(path.join(root, 'repo-one'), { create: true }); // 16 MiB packs: the file is one pack
    const pool = new WorkerPool(1);
    try {
      await fsp.mkdir(path.join(root, 'one'));
      await fsp.writeFile(path.join(root, 'one/big'), randomBytes(1536 << 10));
      await backup(repo, path.join(root, 'one'), { pool });
    } finally {
      await pool.close();
      await repo.close();
    }
    // 1.5 MiB at 1 MiB/s: the bucket's first second of credit, then half a second of slices
    const one = ['--backup_dir', 'filesystem', '--backup_path', 'repo-one', ...M, '--target_dir', 'filesystem', '--target_path', 'mirror-one'];
    const r = await onTerminal(['--limit_upload', '1024', 'sync', ...one], root);
    expect(r.code, r.out).toBe(0);
    expectEtaCleared(r.out, 'sync');
    const lines = r.out.split('\r\x1b[K').filter((l) => l.startsWith('sync  '));
    const within = lines.filter((l) => /^sync  ([1-9]|[1-9]\d)%  .* \/ 1\.6 MB  0\/1 packs/.test(l));
    expect(within.length, JSON.stringify(lines)).toBeGreaterThanOrEqual(3); // it moves while the one pack is sent
    expect(within.some((l) => /  ETA \d+s/.test(l)), JSON.stringify(lines)).toBe(true);
    expect(lines.at(-1)).toMatch(/^sync  100%  1\.6 MB \/ 1\.6 MB  1\/1 packs/);
  });

  it.skipIf(!hasScript)('delete: gc marks the other backups, then deletes, with an ETA per step', async () => {
    const d = await onTerminal(['delete', ids[0]!, ...at], root);
    expect(d.code, d.out).toBe(0);
    expectEtaCleared(d.out, 'delete');
    expect(d.out).toMatch(/delete  mark  \d+%  [12]\/3 backups/);
  });

  it.skipIf(!hasScript)('prune: the same through gc; piped, no progress', async () => {
    const p = await onTerminal(['prune', '--keep_last', '1', '--unrecorded', ...at], root);
    expect(p.code, p.out).toBe(0);
    expectEtaCleared(p.out, 'prune');
    expect(p.out).toMatch(/prune  delete  \d+%  \d+\/\d+ objects/);
    expect(p.out).toMatch(/prune  select  \d+%  [012]\/3 backups/); // reading the manifests the policy applies to, before gc
    const piped = await mobr(['delete', ids[3]!, ...at], root, { env: { MOBR_TEST_PROGRESS_EVERY: '1' } });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr + piped.stdout).not.toContain('\x1b[K');
  });
});

/**
 * #24: backup progress counts what is stored, not what is read. Under a slow upload the last
 * packs are stored long after the last byte is read; the line must not say 100% (with no ETA)
 * while they are.
 */
describe('backup progress counts stored bytes', () => {
  /** A store whose pack uploads take `ms` each; it knows how many are in flight. */
  class SlowPacks extends StoreDecorator {
    inFlight = 0;
    constructor(inner: Store, private readonly ms: number) {
      super(inner);
    }
    override async put(key: string, data: Uint8Array, o?: PutOptions): Promise<void> {
      if (!key.startsWith('data/')) return this.inner.put(key, data, o);
      this.inFlight++;
      await new Promise((r) => setTimeout(r, this.ms));
      await this.inner.put(key, data, o);
      this.inFlight--;
    }
  }

  it('library: never all done while a pack is still uploading; all done once they are stored', async () => {
    const dir = await tempDir('mobr-progress-stored-');
    try {
      for (let i = 0; i < 6; i++) await fsp.writeFile(path.join(dir, `f${i}`), randomBytes(20_000));
      const store = new SlowPacks(new MemStore(), 40);
      const repo = await Repository.init(store, { packSize: 16 << 10 });
      const seen: { done: number; total: number; inFlight: number }[] = [];
      const pool = new WorkerPool(1);
      try {
        await backup(repo, dir, { pool, onProgress: (p) => seen.push({ done: p.bytesRead - (p.bytesUnstored ?? 0), total: p.totalBytes, inFlight: store.inFlight }) });
      } finally {
        await pool.close();
        await repo.close();
      }
      const total = 6 * 20_000;
      const early = seen.filter((s) => s.done >= total && s.inFlight > 0);
      expect(early, 'said all done while packs were still uploading').toEqual([]);
      expect(seen.at(-1)).toEqual({ done: total, total, inFlight: 0 }); // the last stored pack is reported
      expect(seen.some((s) => s.done < total && s.inFlight > 0)).toBe(true);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasScript)('./mo_br backup --limit_upload: every file read, the line still below 100% with an ETA', async () => {
    await fsp.mkdir(path.join(root, 'slow'));
    for (let i = 0; i < 6; i++) await fsp.writeFile(path.join(root, 'slow', `f${i}`), randomBytes(12 << 10));
    await (await Repository.init(new FsStore(path.join(root, 'repo-slow')), { packSize: 8 << 10 })).close();
    // 72 KiB at 40 KiB/s: the first second's credit, then about 0.8 s of uploads
    const b = await onTerminal(['--limit_upload', '40', 'backup', '--data_dir', 'slow', '--backup_dir', 'filesystem', '--path', 'repo-slow', '--meta_path', 'm'], root);
    expect(b.code, b.out).toBe(0);
    expectEtaCleared(b.out, 'backup');
    const lines = b.out.split('\r\x1b[K').filter((p) => p.startsWith('backup  '));
    const allRead = lines.filter((l) => / 6\/6 files/.test(l));
    expect(allRead.some((l) => /^backup  (\d|[1-9]\d)%  .*  ETA (\d+h\d\dm|\d+m\d\ds|\d+s)/.test(l)), JSON.stringify(lines)).toBe(true);
    expect(lines.at(-1)).toMatch(/^backup  100%  /);
  });
});

describe('check --repair on a terminal', () => {
  it.skipIf(!hasScript)('a line for reading every pack, then one for the packs no index names', async () => {
    const repo = await openRepository(path.join(root, 'repo-repair'), { create: true, packSize: 64 << 10 });
    const pool = new WorkerPool(1);
    try {
      for (let k = 0; k < 2; k++) {
        await fsp.writeFile(path.join(root, 'd/extra'), randomBytes(200_000));
        await backup(repo, path.join(root, 'd'), { pool });
      }
    } finally {
      await pool.close();
      await repo.close();
    }
    const indexes = (await fsp.readdir(path.join(root, 'repo-repair/index'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    await fsp.rm(path.join(indexes[0]!.parentPath, indexes[0]!.name)); // its packs are known to no index now
    const r = await onTerminal(['check', '--repair', '--backup_dir', 'filesystem', '--backup_path', 'repo-repair', '--meta_path', 'm'], root);
    expect(r.code, r.out).toBe(0);
    expectEtaCleared(r.out, 'repair');
    expect(r.out).toMatch(/repair  verify  \d+%  [\d.]+ [kM]?B \/ [\d.]+ [kM]?B  \d+\/\d+ packs/);
    expect(r.out).toMatch(/repair  reindex  \d+%  \d+\/\d+ packs/);
    expect(r.out).toMatch(/repair: /); // its report, after the line is cleared
  });
});
