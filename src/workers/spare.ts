/**
 * How many cores the rest of the machine leaves spare *now* (jobPool's question): the machine's
 * CPU time and this process's own, read twice a short window apart. The 1-minute load average
 * answers a minute late: on 2 cores a busy minute just past made every job after it run in one
 * thread, and a machine that has just turned busy still looked free.
 */
import { cpus, loadavg } from 'node:os';
import { sleep } from '../util/sleep.js';

/** CPU time so far, in ms: the whole machine's busy and total, and this process's own (all its threads). */
export interface CpuReading {
  busy: number;
  total: number;
  own: number;
}

/** The window between the two readings: long enough for a few of the kernel's 10 ms ticks a core. */
export const SAMPLE_MS = 100;

/** The machine's CPU time now (os.cpus(): /proc/stat on Linux), or undefined where it is not told. */
export function readCpu(): CpuReading | undefined {
  const all = cpus();
  if (all.length === 0) return undefined;
  let busy = 0;
  let total = 0;
  for (const { times: t } of all) {
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  const u = process.cpuUsage();
  return { busy, total, own: (u.user + u.system) / 1000 };
}

/**
 * Cores spare between two readings, out of `cores`: the share of the machine's CPU time that was
 * idle or this process's own (its own threads would yield to the job they belong to). Undefined
 * when the readings did not move (no tick in the window), so the caller falls back.
 */
export function spareBetween(a: CpuReading, b: CpuReading, cores: number): number | undefined {
  const total = b.total - a.total;
  if (!(total > 0)) return undefined;
  const others = Math.min(total, Math.max(0, b.busy - a.busy - (b.own - a.own)));
  return cores * (1 - others / total);
}

export interface SpareOptions {
  read?: () => CpuReading | undefined;
  wait?: (ms: number) => Promise<void>;
  /** The fallback where the machine does not tell its CPU time: the 1-minute load average. */
  load?: () => number;
}

/** Cores spare now, out of `cores`: a sample over SAMPLE_MS; the load average where none can be read. */
export async function spareCores(cores: number, o: SpareOptions = {}): Promise<number> {
  const read = o.read ?? readCpu;
  const a = read();
  let spare: number | undefined;
  if (a) {
    await (o.wait ?? sleep)(SAMPLE_MS);
    const b = read();
    spare = b && spareBetween(a, b, cores);
  }
  return spare ?? Math.max(0, cores - (o.load ?? (() => loadavg()[0]))());
}
