import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that change no process-wide state: no working directory, umask or signal handler
 * changed, no count of the process's threads or read calls, no module state asserted fresh
 * (decoder-ready), no ./mo_br run in this process (mobrIn); a ./mo_br they spawn is a process of
 * its own and still runs as one. They share two worker threads and one module cache instead of
 * a new process per file (≈1 CPU-s of start-up and module loading each). They run first, as
 * group 0; every other file runs after them in a process of its own, as before. A new test file
 * lands in the isolated group until it is added here; `test/vitest-groups.test.ts` checks that
 * each named file exists and that none of them does what a shared thread cannot take.
 */
export const SHARED = [
  'best-effort', 'blake3', 'browse-logic', 'chunk-index', 'chunker-wasm', 'chunker', 'clock-use',
  'code-shape', 'codec', 'emulator-backup', 'emulator-file-index', 'emulator-independence',
  'emulator-vectors', 'emulator', 'encryption-format', 'encryption-init-race', 'encryption-server',
  'encryption-tamper', 'encryption', 'endpoint-check', 'entry-memory', 'formats', 'fuzz',
  'gc-leftovers', 'gc', 'golden-formats', 'import-cycles', 'keyfile', 'library', 'map-limit',
  'mo-client', 'mo-ingest-layout', 'mo-ingest-matrix', 'mo-layout', 'model', 'native',
  'pack-header', 'pack-size', 'parts-format', 'prune', 'rate-limit-signal', 'restore-packs',
  'roundtrip.s3', 'roundtrip', 's3-body', 's3-role-expiry', 'session', 'shares-lib', 'shares',
  'store-decorators', 'store.s3', 'store', 'sync-reencrypt', 'sync', 'unused-exports', 'verify',
  'writer', 'reliability/swap-race', 'reliability/walk-links', 'vitest-groups',
  'layers', 'msgpack-rows', 'session-cancel', 'stats-last-check', 'glob', 'server-progress', 'prune-cli', 'gc-concurrent', 'meta-format', 'names', 'mo-restore-placement', 'compat-repo-v1', 'compat-repo-enc-v1',
  'nightly-limits', 'nightly-retention', 'mo-ctl-list', 'mo-restore-s3', 'security', 'cold-tree', 'completion-flags', 'deploy', 'encryption-cli', 'encryption-shares-cli', 'single-file', 'stats-html-browser', 'smallfiles', 'spare-cores', 'backup-parent',
].map((n) => `test/${n}.test.ts`);

/**
 * The slowest files of the 13:33 CI run, slowest first. Without a cache of the last run's times
 * (a fresh clone: CI) vitest runs larger files first, which put two short files taking 25 and
 * 18 s last, one after the other, while the other worker sat idle (~40 s). These go first; a
 * file's time from vitest's cache, where there is one, still decides before this list.
 */
export const SLOW = [
  'shares-cli', 'crash', 'reliability/corruption', 'reliability/damaged-dedup', 'mo-matrix-s3', 'package',
  'reliability/delete-space', 'mo-ctl-layout', 'reliability/concurrency', 'cli-gc-pause', 'mo-ingest-matrix',
  'mo-matrix-fs', 'cli-snapshot', 'cli-gc-signals', 'cli-bad-input', 'mo-native', 'cli-browse', 'cli-e2e',
  'reliability/staging', 'crash-server', 'cli-browse-more', 'cli-keys', 'store.s3', 'model', 'security',
  'nightly-limits', 'mo-real-layouts', 'cli-compat', 'cli-encrypted', 'cli-catalog-free', 'mo-gc-rows',
  'cli-progress', 'cli-globals', 'cli-server-stop', 'mo-file-index', 'cli-signals', 'reliability/s3-silent',
  'restore-packs', 'cli-sync-reencrypt', 'reliability/outputs', 'sync', 'shares-lib', 'mo-restore-launch',
].map((n) => `test/${n}.test.ts`);

export class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const key = (f: TestSpecification) => `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`;
    const rank = (f: TestSpecification) => {
      const i = SLOW.indexOf(relative(this.ctx.config.root, f.moduleId));
      return i < 0 ? SLOW.length : i;
    };
    const cached = (f: TestSpecification) => this.ctx.cache.getFileTestResults(key(f))?.duration;
    const size = (f: TestSpecification) => this.ctx.cache.getFileStats(key(f))?.size ?? 0;
    return [...files].sort((a, b) => {
      const [da, db] = [cached(a), cached(b)];
      if (da !== undefined && db !== undefined) return db - da;
      return rank(a) - rank(b) || size(b) - size(a);
    });
  }
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // MOBR_TEST_CPU_LOG=<file>: each test file's CPU seconds appended there (test/helpers/cpu-log.ts)
    setupFiles: process.env.MOBR_TEST_CPU_LOG ? ['test/helpers/cpu-log.ts'] : [],
    poolOptions: { forks: { maxForks: 2 }, threads: { maxThreads: 2, isolate: false } },
    sequence: { sequencer: SlowFirst },
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    projects: [
      { extends: true, test: { name: 'shared', include: SHARED, pool: 'threads', sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: SHARED, pool: 'forks', sequence: { groupOrder: 1 } } },
    ],
  },
});
