/**
 * How many cores are spare now (src/workers/spare.ts, jobPool's question): from two readings of
 * the machine's and this process's CPU time a short window apart, not from the trailing load
 * average. Readings are injected, so each case is exact at any load.
 */
import { describe, expect, it } from 'vitest';
import { SAMPLE_MS, readCpu, spareBetween, spareCores, type CpuReading } from '../src/workers/spare.js';

const r = (busy: number, total: number, own = 0): CpuReading => ({ busy, total, own });

describe('spareBetween', () => {
  it('counts the others\' CPU time in the window, not this process\'s own', () => {
    // 2 cores, a 100 ms window: 200 ms of CPU time in all
    expect(spareBetween(r(0, 0), r(0, 200), 2)).toBe(2);
    expect(spareBetween(r(0, 0), r(100, 200), 2), 'one busy loop elsewhere').toBe(1);
    expect(spareBetween(r(0, 0), r(200, 200), 2), 'two busy loops elsewhere').toBe(0);
    expect(spareBetween(r(0, 0), r(100, 200, 100), 2), 'only this process busy').toBe(2);
    expect(spareBetween(r(0, 0), r(200, 200, 100), 2), 'this process and one loop elsewhere').toBe(1);
  });

  it('only the window counts: the busy hours before it do not', () => {
    expect(spareBetween(r(9e9, 1e10, 5e5), r(9e9 + 30, 1e10 + 800, 5e5), 8)).toBeCloseTo(7.7, 5);
  });

  it('stays within 0 and the cores when ticks and the own clock disagree', () => {
    expect(spareBetween(r(0, 0), r(50, 200, 60), 2)).toBe(2);
    expect(spareBetween(r(0, 0), r(300, 200), 2)).toBe(0);
  });

  it('says nothing when no tick fell in the window', () => {
    expect(spareBetween(r(10, 100), r(10, 100), 2)).toBeUndefined();
  });
});

describe('spareCores', () => {
  const reads = (...xs: (CpuReading | undefined)[]) => () => xs.shift();

  it('samples over SAMPLE_MS and ignores a load average a minute late', async () => {
    const waits: number[] = [];
    const wait = async (ms: number) => void waits.push(ms);
    // the last minute was busy (load 2 on 2 cores), the window is idle
    expect(await spareCores(2, { read: reads(r(5000, 9000), r(5000, 9200)), wait, load: () => 2 })).toBe(2);
    // the last minute was idle, the window is busy
    expect(await spareCores(2, { read: reads(r(5000, 9000), r(5200, 9200)), wait, load: () => 0 })).toBe(0);
    expect(waits).toEqual([SAMPLE_MS, SAMPLE_MS]);
  });

  it('falls back to the load average where the CPU time cannot be read or did not move', async () => {
    const wait = async () => {};
    expect(await spareCores(2, { read: reads(undefined), wait, load: () => 0.4 })).toBeCloseTo(1.6, 5);
    expect(await spareCores(2, { read: reads(r(1, 10), r(1, 10)), wait, load: () => 1 })).toBe(1);
    expect(await spareCores(2, { read: reads(r(1, 10), undefined), wait, load: () => 3 })).toBe(0);
  });

  it.runIf(process.platform === 'linux')('reads real CPU time: this thread spinning shows in the machine\'s busy time, in the same unit as its own', () => {
    const a = readCpu()!;
    const start = process.cpuUsage();
    let x = 0;
    while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < 100) x += Math.sqrt(x + 1);
    const b = readCpu()!;
    expect(x).toBeGreaterThan(0);
    expect(b.own - a.own).toBeGreaterThanOrEqual(100);
    expect(b.own - a.own).toBeLessThan(2000);
    // kernel ticks are 10 ms a core: the machine's busy time holds this thread's, give or take a few ticks
    expect(b.busy - a.busy).toBeGreaterThanOrEqual(b.own - a.own - 50);
    expect(b.total - a.total).toBeGreaterThanOrEqual(b.busy - a.busy);
  });
});
