/**
 * Which pool a restore or check gets (jobPool, src/workers/pool.ts): its tasks run in this
 * thread when the job is small or the machine has less than a core and a half to spare, so no
 * worker starts and no hand-off waits for a core; else in worker threads.
 */
import { describe, expect, it } from 'vitest';
import { INLINE_BYTES, jobPool } from '../src/workers/pool.js';

const GiB = 1024 ** 3;

describe('jobPool', () => {
  it('runs a small job in this thread, whatever the machine', () => {
    for (const cores of [1, 2, 16]) {
      const p = jobPool(INLINE_BYTES, undefined, 0, cores);
      expect(p.inline).toBe(true);
      expect(p.threads).toBe(1);
    }
  });

  it('runs a big job in workers, one a core (or --parallelism), when cores are free', () => {
    expect(jobPool(INLINE_BYTES + 1, undefined, 0, 2)).toMatchObject({ inline: false, threads: 2 });
    expect(jobPool(GiB, undefined, 6.4, 8)).toMatchObject({ inline: false, threads: 8 });
    expect(jobPool(GiB, 3, 0, 8)).toMatchObject({ inline: false, threads: 3 });
  });

  it('runs a big job in this thread when less than a core and a half is free, or on one core', () => {
    expect(jobPool(GiB, undefined, 0.6, 2).inline).toBe(true);
    expect(jobPool(GiB, undefined, 2, 2).inline).toBe(true);
    expect(jobPool(GiB, 4, 7, 8).inline).toBe(true);
    expect(jobPool(GiB, undefined, 0, 1).inline).toBe(true);
  });

  it('starts no worker until a task needs one', async () => {
    const p = jobPool(GiB, 2, 0, 2);
    expect(p.workersStarted).toBe(false);
    await p.close();
  });
});
