/**
 * Running ./mo_br on a real pseudo-terminal (`script` from util-linux) and reading its progress
 * line (src/cli/progress.ts) out of what the terminal got.
 */
import { spawn, spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { MO_BR } from './cli.js';

export const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs ./mo_br on a pseudo-terminal, every progress update drawn (MOBR_TEST_PROGRESS_EVERY); all it wrote, stdout and stderr as the terminal shows them. */
export function onTerminal(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, MO_BR, ...args].map((a) => `'${a}'`).join(' ');
  const p = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, env: { ...process.env, COLUMNS: '200', MOBR_TEST_PROGRESS_EVERY: '1', ...env } });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), 25_000);
  return new Promise((resolve) => p.on('close', (code) => (clearTimeout(timer), resolve({ code, out }))));
}

/**
 * The progress line of `label` carries an ETA at least once, nothing ever runs into it (each
 * drawing is cleared before anything else is written), and it is gone at the end.
 */
export function expectEtaCleared(out: string, label: string): void {
  const parts = out.split('\r\x1b[K');
  const drawn = parts.filter((p) => p.startsWith(`${label}  `));
  expect(drawn.some((p) => /  ETA (\d+h\d\dm|\d+m\d\ds|\d+s)/.test(p)), JSON.stringify(out.slice(0, 2000))).toBe(true);
  for (const p of drawn) expect(p, `something ran into the progress line: ${JSON.stringify(out.slice(0, 2000))}`).toMatch(/^[^\r\n]*$/);
  expect(parts.at(-1)!.startsWith(`${label}  `), 'the progress line was left on the screen').toBe(false);
}
