/**
 * The shared-thread group of vitest.config.ts: every file it names exists, and none of them does
 * what a worker thread shared with other files cannot take (a working directory or umask of its
 * own, signal handlers, the process's thread count, module state asserted fresh, ./mo_br run in
 * this process). The order files start in: known slow ones first when vitest has no cached times.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED, SLOW, SlowFirst } from '../vitest.config.js';
import { ROOT } from './helpers/cli.js';
import { statCpu } from './helpers/cpu-stat.js';

const UNSHAREABLE = [/process\.chdir\(/, /process\.umask\(\w/, /process\.kill\(process\.pid/, /process\.(on|once)\(['"]SIG/, /\/proc\/self\/(status|io)/, /zstdLoaded\(/, /\bmobrIn\b/, /process\.exit\(/];

/** The file's text and that of the test helpers it imports (but helpers/cli.ts, which defines them): the in-process runner imported under another name, or called by a helper, counts too. */
function textWithHelpers(file: string): string {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const helpers = [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => path.join(path.dirname(file), `${m[1]}.ts`)).filter((h) => h.startsWith('test/') && h !== 'test/helpers/cli.ts' && existsSync(path.join(ROOT, h)));
  return [text, ...helpers.map((h) => readFileSync(path.join(ROOT, h), 'utf8'))].join('\n');
}

describe('vitest groups', () => {
  it('every shared-thread file exists and does nothing a shared thread cannot take', () => {
    expect(SHARED.length).toBeGreaterThan(20);
    for (const f of SHARED) {
      expect(existsSync(path.join(ROOT, f)), f).toBe(true);
      const text = textWithHelpers(f);
      for (const re of UNSHAREABLE) expect(re.test(text), `${f} matches ${re}: it needs a process of its own`).toBe(false);
    }
  });

  it('runs known slow files first without cached times (a fresh clone), by cached time with them', async () => {
    for (const f of SLOW) expect(existsSync(path.join(ROOT, f)), f).toBe(true);
    const times = new Map<string, number>();
    const ctx = {
      config: { root: ROOT },
      cache: {
        getFileTestResults: (k: string) => (times.has(k) ? { duration: times.get(k)!, failed: false } : undefined),
        getFileStats: (k: string) => ({ size: k.includes('tiny') ? 10 : 1000 }),
      },
    };
    const spec = (n: string) => ({ project: { name: 'p' }, moduleId: path.join(ROOT, n) });
    const files = ['test/big.test.ts', 'test/tiny.test.ts', SLOW[5], SLOW[0]].map(spec);
    const order = async () => (await new SlowFirst(ctx as never).sort(files as never)).map((f) => path.relative(ROOT, f.moduleId));
    expect(await order()).toEqual([SLOW[0], SLOW[5], 'test/big.test.ts', 'test/tiny.test.ts']);
    for (const [i, f] of ['test/tiny.test.ts', SLOW[5], 'test/big.test.ts', SLOW[0]].entries()) times.set(`p:${f}`, 100 - i);
    expect(await order()).toEqual(['test/tiny.test.ts', SLOW[5], 'test/big.test.ts', SLOW[0]]);
  });

  it('MOBR_TEST_CPU_LOG reads own and children CPU from a stat line, past a command name with spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '4242 (node (vitest 1) x) S 1 2 3 0 -1 4194304 10 20 0 0 250 50 1200 300 20 0 11 0';
    expect(statCpu(line)).toEqual({ own: 3, children: 15 });
    expect(statCpu(readFileSync('/proc/self/stat', 'utf8')).own).toBeGreaterThan(0);
  });
});
