/**
 * Issue #25: `check`, `dump` and `export` read under a shared lock, as `restore` does (spec/gc.md
 * §2.4, restic's model): they wait for a live exclusive lock (a gc, a repair), so nothing they read
 * is deleted under them, and go on beside one past staleMs, told in one line. Through ./mo_br
 * (in-process), on a folder repository with a planted exclusive lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { backupIdOf, ensureBuilt, initTinyRepo } from './reliability/cli.js';
import { mobrIn as mobr } from './helpers/cli.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';

let work: string;
let repo: string;
let id: string;
let M: string[];

beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-read-lock-');
  repo = path.join(work, 'repo');
  await initTinyRepo(repo);
  M = ['--meta_path', path.join(work, 'mo_br.meta')];
  const src = path.join(work, 'src');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'f'), pseudoRandom(7, 60_000));
  const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
  expect(b.code, b.stderr).toBe(0);
  id = backupIdOf(b.stdout)!;
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** An exclusive gc lock of another host, `ageMs` old on the store's clock (its file's mtime); returns its file. */
async function plantGc(ageMs: number): Promise<string> {
  const file = path.join(repo, 'locks', randomBytes(16).toString('hex'));
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, JSON.stringify({ v: 1, kind: 'exclusive', host: 'lost-host', pid: 77, purpose: 'gc', createdAt: Date.now() - ageMs }));
  const t = new Date(Date.now() - ageMs);
  await fsp.utimes(file, t, t);
  return file;
}

const BESIDE = /^mo_br: warning: filesystem \S+ is locked by gc \(exclusive, host lost-host pid 77\), not refreshed for 60 min: a paused process may still hold it; if it is gone for good, `mo_br unlock` removes locks\/[0-9a-f]{32}; reading beside it$/;

describe('check, dump and export read under a shared lock (issue #25)', () => {
  it('beside an exclusive lock past staleMs: each goes on, told in one line, and leaves no lock of its own', async () => {
    const gc = await plantGc(3_600_000);
    try {
      const runs = {
        check: await mobr(['check', id, ...M], work),
        dump: await mobr(['dump', id, 'f', ...M], work),
        export: await mobr(['export', id, '--path', path.join(work, 'exported'), ...M], work),
      };
      for (const [name, r] of Object.entries({ check: runs.check, dump: runs.dump })) {
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        expect(r.stderr.trim().split('\n'), name).toEqual([expect.stringMatching(BESIDE)]);
      }
      // a folder's backup is not in MatrixOne's layout: export takes the lock, then refuses it
      expect(runs.export.stderr.split('\n')).toEqual([expect.stringMatching(BESIDE), `mo_br: backup ${id} is not a backup of a MatrixOne server (a cold backup is a plain mo-data folder: restore it)`, '']);
      expect(Buffer.compare(runs.dump.stdoutBytes, Buffer.from(pseudoRandom(7, 60_000)))).toBe(0);
      expect(await fsp.readdir(path.join(repo, 'locks'))).toEqual([path.basename(gc)]);
    } finally {
      await fsp.rm(gc, { force: true });
    }
  }, 30_000);

  it('a live exclusive lock (a gc running): check waits for it, then checks', async () => {
    const gc = await plantGc(0);
    let settled = false;
    const run = mobr(['check', id, ...M], work).finally(() => (settled = true));
    try {
      await new Promise((r) => setTimeout(r, 3000));
      expect(settled, 'check walked past a live gc').toBe(false);
    } finally {
      await fsp.rm(gc, { force: true }); // the gc ends
    }
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  }, 30_000);
});
