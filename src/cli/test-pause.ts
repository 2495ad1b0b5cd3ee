/**
 * Test hooks that stop a command at a named point (spec/cli.md, "Test hooks"): the command creates
 * a file and waits there until the file is removed, a signal comes, or 60 s pass. A test then
 * acts at a known point instead of guessing from timing.
 *   MOBR_TEST_GC_PAUSE=<step>:<file>   gc (delete, prune, check --repair) at <step> ('repacked' or 'indexed')
 *   MOBR_TEST_SHARE_PAUSE=<file>       `backup --join`: after its share is stored, before its part is written
 */
import { promises as fsp } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ignoreMissing } from '../util/best-effort.js';

const LIMIT_MS = 60_000;

/** Creates `file` (holding `what`) and waits until it is removed, `signal` aborts, or 60 s pass. */
export async function pauseAt(file: string, what: string, signal: AbortSignal | undefined): Promise<void> {
  await fsp.writeFile(file, what);
  const end = performance.now() + LIMIT_MS;
  while (!signal?.aborted && performance.now() < end && (await ignoreMissing(fsp.stat(file)))) await new Promise((r) => setTimeout(r, 20));
}

/** The `MOBR_TEST_SHARE_PAUSE` hook, or undefined when the variable is not set. */
export function sharePauseHook(signal: AbortSignal | undefined, env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | undefined {
  const file = env.MOBR_TEST_SHARE_PAUSE;
  return file ? () => pauseAt(file, 'share stored', signal) : undefined;
}
