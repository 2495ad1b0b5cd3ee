/**
 * The in-process runner (mobrIn, test/helpers/cli.ts) that most CLI tests use instead of
 * spawning ./mo_br: it gives what ./mo_br gives (exit code, stdout, stderr), runs with its own
 * working directory and environment, and leaves nothing of a run behind for the next one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobr, mobrIn } from './helpers/cli.js';
import { DEFAULT_STALE_MS, defaultStaleMs } from '../src/repo/lock.js';
import { systemClock } from '../src/util/clock.js';

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-inprocess-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mobrIn, the in-process ./mo_br', () => {
  it('gives what ./mo_br gives: exit code, stdout and stderr, for a result and a usage error as JSON', async () => {
    for (const args of [['version'], ['list', '--bogus', '--json']]) {
      const [spawned, inProcess] = [await mobr(args, work), await mobrIn(args, work)];
      expect({ code: inProcess.code, stdout: inProcess.stdout, stderr: inProcess.stderr }, args.join(' ')).toEqual({ code: spawned.code, stdout: spawned.stdout, stderr: spawned.stderr });
    }
  });

  it('runs in its own cwd and environment, one run at a time, and resets what a run set', async () => {
    const skew = path.join(work, 'skew');
    writeFileSync(skew, String(3_600_000));
    const env = { MO_BR_META_PATH: path.join(work, 'env.meta'), MOBR_TEST_LOCK_STALE_MS: '5000', MOBR_TEST_CLOCK_SKEW_FILE: skew, MOBR_INPROCESS_PROBE: 'x' };
    const cwd = process.cwd();
    const dirs = ['a', 'b'].map((d) => path.join(work, d));
    for (const d of dirs) mkdirSync(path.join(d, 'src'), { recursive: true }), writeFileSync(path.join(d, 'src/f'), d);
    // started together: each backs up its own ./src into its own ./repo
    const runs = await Promise.all(dirs.map((d) => mobrIn(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'src'], d, { env })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    for (const d of dirs) expect(existsSync(path.join(d, 'repo/config'))).toBe(true);
    expect(existsSync(env.MO_BR_META_PATH)).toBe(true);
    expect(process.env.MOBR_INPROCESS_PROBE).toBeUndefined();
    expect(process.env.MO_BR_META_PATH).toBeUndefined();
    expect(process.cwd()).toBe(cwd);
    expect(process.exitCode).toBeUndefined();
    expect(defaultStaleMs()).toBe(DEFAULT_STALE_MS);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(60_000);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
