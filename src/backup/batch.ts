/**
 * Grouping files into units of work: many small files share one worker task (backup) or one
 * read and decode (restore, check); a big file is a unit of its own and streams.
 */
/** Up to this many bytes or files a unit. */
export const BATCH_BYTES = 8 * 1024 * 1024;
export const BATCH_FILES = 512;
/**
 * Files of this size or more are units of their own (and stream). Smaller ones share units, so
 * a restore reads several files' chunks (back to back in a lane's pack) with one ranged read.
 */
export const BIG_FILE = BATCH_BYTES;

/**
 * Groups items (in order) into worker tasks: consecutive small ones together, up to BATCH_BYTES
 * or BATCH_FILES; a file of BIG_FILE bytes or more goes alone.
 */
export function batchFiles<T>(items: T[], sizeOf: (x: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const x of items) {
    const n = sizeOf(x);
    if (n >= BIG_FILE) {
      if (cur.length > 0) out.push(cur);
      out.push([x]);
      cur = [];
      bytes = 0;
      continue;
    }
    if (cur.length >= BATCH_FILES || bytes + n > BATCH_BYTES) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(x);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
