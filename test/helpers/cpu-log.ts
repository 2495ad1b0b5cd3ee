/**
 * Each test file's CPU seconds, for finding where the suite's CPU goes (vitest.config.ts adds this
 * setup file when MOBR_TEST_CPU_LOG names a file to append to): one line a test file,
 * `<file>\t<fork|thread>\t<own CPU s>\t<children CPU s>`.
 * - fork (a process of its own, the isolated group): the whole process from its start (module
 *   loading included) and every child it has waited for (./mo_br runs, npm, bash), at its last hook.
 * - thread (the shared group, two files at once in one process): the thread's own CPU from the
 *   file's first hook to its last (imports, product worker threads and children not counted).
 * Sum the forks' columns, or run `vitest run --pool forks` for fork lines only.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { appendFileSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { statCpu } from './cpu-stat.js';

const read = (p: string) => statCpu(readFileSync(p, 'utf8'));
let start = { own: 0, children: 0 };
beforeAll(() => {
  if (!isMainThread) start = read('/proc/thread-self/stat');
});
afterAll(() => {
  const file = (expect.getState().testPath ?? '?').replace(/^.*?\/test\//, 'test/');
  const now = read(isMainThread ? '/proc/self/stat' : '/proc/thread-self/stat');
  const own = now.own - start.own;
  const children = isMainThread ? now.children : 0;
  appendFileSync(process.env.MOBR_TEST_CPU_LOG!, `${file}\t${isMainThread ? 'fork' : 'thread'}\t${own.toFixed(2)}\t${children.toFixed(2)}\n`);
});
