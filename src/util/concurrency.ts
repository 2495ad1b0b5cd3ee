/**
 * Running work over a list, at most `limit` items at once: the one helper every loop of that kind
 * uses. On the first failure no further item starts; the items already running finish (so none
 * leaves a half-written temp file behind), then that first failure is thrown.
 */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        if (!failed) failure = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failure;
}
