/**
 * Running work over a list, at most `limit` items at once: the one helper every loop of that kind
 * uses. On the first failure no further item starts; the items already running finish (so none
 * leaves a half-written temp file behind), then that first failure is thrown. `lane` (0 to
 * limit-1) names the loop running the item: one item at a time per lane (e.g. a pack per lane).
 */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async (_: unknown, k: number) => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await fn(items[i]!, i, k);
      } catch (e) {
        if (!failed) failure = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failure;
}
