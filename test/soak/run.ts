/**
 * `npm run soak`: the crash, damage and concurrency tests, long (spec/reliability.md, "Soak").
 * Runs test/crash.test.ts, test/crash-server.test.ts, test/reliability/*.test.ts and
 * test/gc-concurrent.test.ts one file at a time (one vitest worker: the machine may be shared)
 * with their round knobs raised:
 * MOBR_CRASH_ROUNDS, MOBR_DAMAGE_ROUNDS, MOBR_GC_ROUNDS, MOBR_PAUSE_ROUNDS (gc stopped by SIGSTOP at a
 * random step, test/pause-rounds.test.ts) (default 200 each; set any of them to
 * change it). It also runs test/scale-files.test.ts at MOBR_SCALE_FILES (default 1,000,000 files). One seed drives every random choice; it is printed first and with any failure:
 * `MOBR_SEED=<seed> npm run soak` replays the run.
 */
import { spawnSync } from 'node:child_process';

const seed = process.env.MOBR_SEED ?? String(Date.now() % 1_000_000);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  MOBR_SEED: seed,
  MOBR_CRASH_ROUNDS: process.env.MOBR_CRASH_ROUNDS ?? '200',
  MOBR_DAMAGE_ROUNDS: process.env.MOBR_DAMAGE_ROUNDS ?? '200',
  MOBR_GC_ROUNDS: process.env.MOBR_GC_ROUNDS ?? '200',
  MOBR_PAUSE_ROUNDS: process.env.MOBR_PAUSE_ROUNDS ?? '200',
  MOBR_SCALE_FILES: process.env.MOBR_SCALE_FILES ?? '1000000',
};
const files = ['test/crash.test.ts', 'test/crash-server.test.ts', 'test/reliability/', 'test/gc-concurrent.test.ts', 'test/pause-rounds.test.ts', 'test/scale-files.test.ts'];
const knobs = `MOBR_SEED=${seed} MOBR_CRASH_ROUNDS=${env.MOBR_CRASH_ROUNDS} MOBR_DAMAGE_ROUNDS=${env.MOBR_DAMAGE_ROUNDS} MOBR_GC_ROUNDS=${env.MOBR_GC_ROUNDS} MOBR_PAUSE_ROUNDS=${env.MOBR_PAUSE_ROUNDS} MOBR_SCALE_FILES=${env.MOBR_SCALE_FILES}`;
console.log(`soak: ${knobs} (started ${new Date().toISOString()})`);
const t0 = Date.now();
// Each round is its own test with its own timeout; the whole run has none.
const r = spawnSync('npx', ['vitest', 'run', ...files, '--no-file-parallelism', '--reporter=verbose', '--testTimeout=600000', '--hookTimeout=600000'], { env, stdio: 'inherit' });
const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
if (r.status === 0) console.log(`soak passed in ${minutes} min: ${knobs}`);
else console.log(`soak FAILED after ${minutes} min; replay with: ${knobs} npm run soak`);
process.exit(r.status ?? 1);
