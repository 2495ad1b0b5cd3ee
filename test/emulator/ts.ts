/**
 * MatrixOne's transaction timestamp (pkg/container/types/txnts.go): a physical int64 in
 * nanoseconds and a logical uint32; text form `<physical>-<logical>`; Next() adds one to the
 * logical part. The emulator's own copy, independent of src/.
 */
export interface TS {
  physical: bigint;
  logical: number;
}

export const ZERO: TS = { physical: 0n, logical: 0 };

export function tsString(t: TS): string {
  return `${t.physical}-${t.logical}`;
}

export function parseTs(s: string): TS {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m) throw new Error(`emulator: bad TS ${JSON.stringify(s)}`);
  return { physical: BigInt(m[1]!), logical: Number(m[2]) };
}

export function cmpTs(a: TS, b: TS): number {
  if (a.physical !== b.physical) return a.physical < b.physical ? -1 : 1;
  return a.logical - b.logical;
}

export function nextTs(t: TS): TS {
  return { physical: t.physical, logical: t.logical + 1 };
}

export function isZero(t: TS): boolean {
  return t.physical === 0n && t.logical === 0;
}
