/**
 * Cutting the files of one server backup into shares for several ingesters (spec/scale.md §2):
 * whole files, sorted by path (byte order), cut into `k` runs of about equal bytes.
 *
 * File i (in path order) goes to share `min(k-1, floor(k * start_i / total))`, where start_i is
 * the bytes of the files before it. Share j therefore holds the files that start in
 * [j*total/k, (j+1)*total/k), and its bytes differ from total/k by less than the largest file:
 * the first file starting at or after a boundary starts less than one file's size past it.
 * Pure: the same input always gives the same shares, on every machine.
 */
import { MobrError } from '../errors.js';

interface Sized {
  rel: string;
  size: number;
}

export const MAX_SHARES = 256;

const byPath = (a: Sized, b: Sized): number => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);

/** Splits files into k shares of about equal bytes; each share is in path order, shares follow each other. */
export function cutShares<T extends Sized>(files: readonly T[], k: number): T[][] {
  if (!Number.isSafeInteger(k) || k < 1 || k > MAX_SHARES) throw new MobrError('BAD_INPUT', `bad number of shares ${k} (1 to ${MAX_SHARES})`);
  const sorted = [...files].sort(byPath);
  const total = sorted.reduce((s, f) => s + f.size, 0);
  const shares: T[][] = Array.from({ length: k }, () => []);
  let start = 0;
  for (const f of sorted) {
    const j = total === 0 ? 0 : Math.min(k - 1, Math.floor((k * start) / total));
    shares[j]!.push(f);
    start += f.size;
  }
  return shares;
}

/** Bytes of a share. */
export function shareBytes(share: readonly Sized[]): number {
  return share.reduce((s, f) => s + f.size, 0);
}
