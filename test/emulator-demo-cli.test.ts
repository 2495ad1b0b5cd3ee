/**
 * The two dev programs a newcomer runs first (issue #24.13): `npm run emulator -- --help` prints a
 * usage, bad flags are one line with exit 2 (no Node stack trace); the demo's headings carry ANSI
 * escapes only on a terminal without NO_COLOR, never into a pipe.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { heading } from './demo/demo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
type Run = { status: number | null; stdout: string; stderr: string };
/** Spawns node piped (stdout and stderr are pipes, not a terminal). */
const node = (args: string[]) =>
  new Promise<Run>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ...args], { cwd: root, encoding: 'utf8', timeout: 100_000 }, (e, stdout, stderr) =>
      resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }));
  });
const bad: [string[], RegExp][] = [
  [['--bogus'], /Unknown option '--bogus'/],
  [[], /--data <home> is required/],
  [['--data', '/nonexistent', '--port', 'x'], /--port wants a port number/],
  [['--data', '/nonexistent', '--backend', 'S3'], /--backend wants DISK or DISK-V2/],
];
const demoPiped = "import('./test/demo/demo.ts').then((m) => process.stdout.write(m.heading('step')))";
const runs = new Map<string, Run>();
// All the spawns at once: each pays tsx's start-up, so in parallel the file stays quick.
beforeAll(async () => {
  const all = [['test/emulator/main.ts', '--help'], ['-e', demoPiped], ...bad.map(([a]) => ['test/emulator/main.ts', ...a])];
  const done = await Promise.all(all.map((a) => node(a)));
  all.forEach((a, i) => runs.set(a.join(' '), done[i]));
}, 120_000);
const run = (args: string[]) => runs.get(args.join(' '))!;
const stackTrace = /^\s+at |node:internal|Error \[ERR_/m;

describe('emulator command line', () => {
  it('--help prints the usage and exits 0', () => {
    const r = run(['test/emulator/main.ts', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run emulator -- --data <home>/);
    expect(r.stdout).toContain('--backend DISK|DISK-V2');
    expect(r.stderr).toBe('');
  });

  it.each(bad)('%j is one line on stderr, exit 2, no stack trace', (args, message) => {
    const r = run(['test/emulator/main.ts', ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(stackTrace);
  });
});

describe('demo output', () => {
  it('writes no escape byte into a pipe', () => {
    const r = run(['-e', demoPiped]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('\n== step\n');
    expect(r.stdout).not.toContain('\x1b');
  });

  it('styles headings on a terminal, unless NO_COLOR or TERM=dumb', () => {
    expect(heading('step', true, {})).toContain('\x1b[1m');
    expect(heading('step', true, { NO_COLOR: '1' })).not.toContain('\x1b');
    expect(heading('step', true, { TERM: 'dumb' })).not.toContain('\x1b');
    expect(heading('step', false, {})).not.toContain('\x1b');
  });
});
