/**
 * Test hooks that stop a command at a named point (spec/cli.md, "Test hooks"): the command creates
 * a file and waits there until the file is removed, a signal comes, or 60 s pass. A test then
 * acts at a known point instead of guessing from timing.
 *   MOBR_TEST_GC_PAUSE=<step>:<file>   gc (delete, prune) at <step> (src/repo/gc.ts GcStep: 'planned', 'repacked',
 *                                      'committed', 'indexed', 'deleting' or 'done'), check --repair at 'planned' or 'indexed'
 *   MOBR_TEST_SHARE_PAUSE=<file>       `backup --join`: after its share is stored, before its part is written
 *   MOBR_TEST_BACKUP_PAUSE=<file>      `backup` of a folder: its chunks stored and indexed, before its manifest;
 *                                      `backup --host`: the server wrote its staging folder, before mobr reads it
 * and one that makes time pass faster for repository locks:
 *   MOBR_TEST_LOCK_STALE_MS=<ms>       locks are stale after <ms> (default 30 min), refreshed every <ms>/6
 *   MOBR_TEST_CLOCK_SKEW_FILE=<file>   our wall clock is off by the number of ms <file> holds (read at each look)
 * and one that makes the progress line (progress.ts) draw every update, with an ETA as soon as it has a rate:
 *   MOBR_TEST_PROGRESS_EVERY=1
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { skewSystemClock } from '../util/clock.js';
import { performance } from 'node:perf_hooks';
import { ignoreMissing } from '../util/best-effort.js';
import { defaultStaleMs } from '../repo/lock.js';
import { sleep } from '../util/sleep.js';

const LIMIT_MS = 60_000;

/**
 * Creates `file` (holding `what`) and waits until it is removed, `signal` aborts, or 60 s pass.
 * The file appears whole (written beside it, then renamed): a test that sees it reads `what`.
 */
export async function pauseAt(file: string, what: string, signal: AbortSignal | undefined): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(temp, what);
  await fsp.rename(temp, file);
  const end = performance.now() + LIMIT_MS;
  while (!signal?.aborted && performance.now() < end && (await ignoreMissing(fsp.stat(file)))) await sleep(20, signal);
}

/** The `MOBR_TEST_SHARE_PAUSE` hook, or undefined when the variable is not set. */
export function sharePauseHook(signal: AbortSignal | undefined, env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | undefined {
  const file = env.MOBR_TEST_SHARE_PAUSE;
  return file ? () => pauseAt(file, 'share stored', signal) : undefined;
}

/** The `MOBR_TEST_BACKUP_PAUSE` hook, or undefined when the variable is not set. */
export function backupPauseHook(
  signal: AbortSignal | undefined,
  env: NodeJS.ProcessEnv = process.env,
  what = 'backup stored',
): (() => Promise<void>) | undefined {
  const file = env.MOBR_TEST_BACKUP_PAUSE;
  return file ? () => pauseAt(file, what, signal) : undefined;
}

/**
 * The `MOBR_TEST_LOCK_STALE_MS` hook (repository locks go stale after that many ms: tests pause a
 * process past it) and `MOBR_TEST_CLOCK_SKEW_FILE` (tests set our wall clock forward or back).
 */
export function lockTimeHooks(env: NodeJS.ProcessEnv = process.env): void {
  const v = env.MOBR_TEST_LOCK_STALE_MS;
  if (v && /^[1-9]\d{2,8}$/.test(v)) defaultStaleMs(Number(v));
  const skewFile = env.MOBR_TEST_CLOCK_SKEW_FILE;
  if (skewFile) skewSystemClock(() => Number(ignoreErrors(() => readFileSync(skewFile, 'utf8'))) || 0);
}

function ignoreErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
