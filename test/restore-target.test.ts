/**
 * The restore target: two restores into one folder at once never mix (the second fails at once,
 * exit 7, one line), and a target that cannot be created ends in one line whatever it is
 * (`/proc/forbidden` made Node's recursive mkdir loop forever).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tempDir } from './helpers/tree.js';
import { until } from './helpers/until.js';
import { ensureBuilt, mobr, type Run } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo, makeMoData, treeHashes } from './reliability/cli.js';

let work: string;
let id: string;
let meta: string;
let data: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-restore-target-');
  data = path.join(work, 'mo-data');
  const repo = path.join(work, 'repo');
  meta = path.join(work, 'mo_br.meta');
  await makeMoData(data, 4, 2 * 1024 * 1024); // ~8 MiB in 16 KiB chunks: a restore takes a while
  await initTinyRepo(repo);
  const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta], work);
  expect(b.code, b.stderr).toBe(0);
  id = backupIdOf(b.stdout)!;
}, 120_000);
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const exists = (f: string) => fsp.access(f).then(() => true, () => false);
/** Whether process `pid` is stopped (state T in /proc/<pid>/stat, after the command name's closing parenthesis). */
const stopped = async (pid: number) => {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
};

describe('restore holds a lock on its target', () => {
  it('a second restore into the same folder while the first runs fails at once with exit 7; the first restores whole', async () => {
    const args = (dest: string) => ['restore', id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', dest];
    // The race made sure, not left to two processes' start-up times: the first is stopped while it
    // holds the lock. A restore this small can end between the lock being seen and the stop taking
    // hold; then the lock is gone once it has stopped, and the round is tried again in a new folder.
    for (let round = 1; ; round++) {
      const dest = path.join(work, `target-${round}`);
      const lock = path.join(dest, '.mo_br-restore.lock');
      await fsp.mkdir(dest);
      let child: ChildProcess | undefined;
      let ended = false;
      const first = mobr(args(dest), work, { onSpawn: (p) => (child = p) }).finally(() => void (ended = true));
      await until(async () => ended || (await exists(lock)), 60_000, 'the first restore to lock its target');
      if (!ended) {
        child!.kill('SIGSTOP');
        await until(async () => stopped(child!.pid!), 10_000, 'the first restore to stop');
      }
      if (ended || !(await exists(lock))) {
        child!.kill('SIGCONT');
        const done = await first;
        expect(done.code, done.stderr).toBe(0);
        expect(round, 'the first restore was never stopped holding its lock in 5 rounds').toBeLessThan(5);
        continue;
      }
      let lost: Run;
      try {
        lost = await mobr(args(dest), work, { killAfterMs: 90_000 }); // waiting for the stopped restore, it would be killed here
      } finally {
        child!.kill('SIGCONT');
      }
      expect(lost.signal, 'the second restore waited for the first').toBeNull();
      expect(lost.code, lost.stderr).toBe(7);
      expect(lost.ms, 'it failed at once, not after waiting out a lock wait (30 s, the CLI locks\' default)').toBeLessThan(30_000);
      expect(lost.stderr).toMatch(/^mo_br: another restore into .*target-\d+ is running .*; wait for it to end\n$/);
      const won = await first;
      expect(won.code, won.stderr).toBe(0);
      expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(await treeHashes(data));
      expect(await allPaths(dest)).not.toContain('.mo_br-restore.lock');
      return;
    }
  }, 120_000);

  it('a restore whose target folder cannot be created ends in one line', async () => {
    for (const target of ['/proc/forbidden', '/proc/self/nope/deeper', '/dev/null/x']) {
      const r = await mobr(['restore', id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', target], work, { killAfterMs: 60_000 }); // a hang guard (Node's mkdir looped for ever), not a timing
      expect(r.signal, `${target}: hung`).toBeNull();
      expect(r.code, target).not.toBe(0);
      expect(r.stderr, target).toMatch(/^mo_br: [^\n]+\n$/);
    }
  }, 90_000);
});
