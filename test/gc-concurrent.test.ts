/**
 * A backup process and a delete+gc process on the same filesystem repository at once, many
 * rounds: every backup the repository still lists restores, with the bytes its writer wrote.
 * The children run the compiled library (dist/, built before the tests).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/backup/restore.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { WorkerPool } from '../src/workers/pool.js';
import { readTree, tempDir } from './helpers/tree.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/src');
const ROUNDS = Number(process.env.MOBR_GC_ROUNDS ?? 20);

const COMMON = `
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as os from 'node:os';
const { Repository } = await import('${DIST}/repo/repository.js');
const { FsStore } = await import('${DIST}/store/fs.js');
const repoDir = process.argv[1];
function bytes(seed, size) {
  const out = new Uint8Array(size); let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = x >>> 24; }
  return out;
}
`;

const BACKUPS = `${COMMON}
const { backupTree } = await import('${DIST}/backup/backup.js');
const { WorkerPool } = await import('${DIST}/workers/pool.js');
const pool = new WorkerPool(1);
const rounds = Number(process.argv[2]);
for (let r = 0; r < rounds; r++) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mobr-cc-'));
  // f0: always the same; f1: new; f2: the previous round's f1 (its chunks may be dying meanwhile)
  const files = { f0: bytes(1, 30000), f1: bytes(100 + r, 20000), f2: bytes(100 + Math.max(0, r - 1), 20000) };
  for (const [n, d] of Object.entries(files)) await fsp.writeFile(path.join(dir, n), d);
  const repo = await Repository.open(new FsStore(repoDir));
  await backupTree(repo, dir, { id: 'b' + r, pool });
  for (const [n, d] of Object.entries(files)) console.log(['b' + r, n, createHash('sha256').update(d).digest('hex')].join(' '));
  await fsp.rm(dir, { recursive: true, force: true });
}
await pool.close();
`;

const COLLECTOR = `${COMMON}
const { gc } = await import('${DIST}/repo/gc.js');
const { deleteBackup } = await import('${DIST}/repo/delete.js');
let runs = 0, deferred = 0;
for (;;) {
  const done = await fsp.access(path.join(repoDir, '..', 'done')).then(() => true, () => false);
  const repo = await Repository.open(new FsStore(repoDir));
  const ids = await repo.listBackupIds();
  if (ids.length > 2) await deleteBackup(repo, ids.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))[0]);
  try { await gc(repo, { safetyWindowMs: 0, repackThreshold: 0.6, lock: { waitMs: 2000 } }); runs++; } catch (e) { if (e.code !== 'LOCKED') throw e; deferred++; }
  if (done && ids.length <= 3) break; // after the backups: delete down to two, then stop
}
console.log(JSON.stringify({ runs, deferred }));
`;

function child(code: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (c) => (c === 0 ? resolve(out) : reject(new Error(`child exited ${c}: ${err.slice(-2000)}`))));
  });
}

let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());

describe('gc beside a running backup (two processes)', () => {
  it(`loses nothing over ${ROUNDS} rounds`, async () => {
    const root = await tempDir('mobr-cc-root-');
    const repoDir = path.join(root, 'repo');
    await Repository.init(new FsStore(repoDir), { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 });
    const collector = child(COLLECTOR, [repoDir]);
    collector.catch(() => undefined); // awaited below; a failed backup must not leave it unobserved
    let written: string;
    try {
      written = await child(BACKUPS, [repoDir, String(ROUNDS)]);
    } finally {
      // the collector loops until this file exists: write it even when the backups failed
      await fsp.writeFile(path.join(root, 'done'), '');
    }
    const stats = JSON.parse((await collector).trim().split('\n').pop()!);
    expect(stats.runs).toBeGreaterThan(0);

    const want = new Map<string, string>();
    for (const line of written.trim().split('\n')) {
      const [id, name, sha] = line.split(' ');
      want.set(`${id}/${name}`, sha);
    }
    const repo = await Repository.open(new FsStore(repoDir));
    const ids = await repo.listBackupIds();
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).toContain(`b${ROUNDS - 1}`);
    for (const id of ids) {
      const dir = await tempDir('mobr-cc-restore-');
      await restoreBackup(repo, await repo.loadManifest(id), dir, { pool });
      for (const [name, f] of await readTree(dir)) expect(createHash('sha256').update(f.data).digest('hex'), `${id}/${name}`).toBe(want.get(`${id}/${name}`));
      await fsp.rm(dir, { recursive: true, force: true });
    }
    // and gc really freed: the repository holds about the two live backups, not all 20
    let packBytes = 0;
    for await (const e of new FsStore(repoDir).list('data')) packBytes += e.size;
    expect(packBytes).toBeLessThan(200_000); // two backups: ~30 kB shared + 2-3 × 20 kB, plus repack slack
    await fsp.rm(root, { recursive: true, force: true });
  }, 120_000);
});
