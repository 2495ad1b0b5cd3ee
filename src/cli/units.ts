/**
 * Units as mo_br (a Go program) prints them, so our output is byte-identical:
 * - sizes like go-humanize `Bytes` (SI, base 1000: "586 kB", "8.3 MB", "65 MB");
 * - durations like Go's `time.Duration.String()` ("1.700945333s", "549µs", "1m2.5s", "1h0m0s");
 * - times like Go's layout "2006-01-02 15:04:05 -0700" in the local zone.
 */

const SI_SIZES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** go-humanize Bytes(s): "%d B" under 10, else one decimal under 10 units and none above. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`formatBytes: bad size ${bytes}`);
  const s = Math.floor(bytes);
  if (s < 10) return `${s} B`;
  const e = Math.floor(Math.log(s) / Math.log(1000));
  const suffix = SI_SIZES[e] ?? SI_SIZES[SI_SIZES.length - 1];
  const val = Math.floor((s / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${suffix}` : `${goFixed0(val)} ${suffix}`;
}

/** Go's "%.0f": round half to even (val has one decimal, so halves are exact). */
function goFixed0(val: number): string {
  const floor = Math.floor(val);
  const diff = val - floor;
  if (diff === 0.5) return String(floor % 2 === 0 ? floor : floor + 1);
  return String(Math.round(val));
}

const NS_PER_SECOND = 1_000_000_000n;

/** Go's time.Duration.String() for a duration in nanoseconds. */
export function formatDuration(nanoseconds: number | bigint): string {
  let u = typeof nanoseconds === 'bigint' ? nanoseconds : BigInt(Math.round(nanoseconds));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < NS_PER_SECOND) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < 1000n) {
      prec = 0;
      unit = 'ns';
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, whole] = fraction(u, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, whole] = fraction(u, 9);
    out = `${whole % 60n}${frac}s`;
    let rest = whole / 60n;
    if (rest > 0n) {
      out = `${rest % 60n}m${out}`;
      rest /= 60n;
      if (rest > 0n) out = `${rest}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/**
 * A duration for people (summaries, not mo_br's Go output): "850ms", "5.9s", "2m03s", "1h04m".
 * Under a second whole milliseconds; under a minute one decimal of a second; then minutes and
 * zero-padded seconds; from an hour on, hours and zero-padded minutes.
 */
export function formatHumanDuration(nanoseconds: number): string {
  const ns = Math.max(0, Math.round(nanoseconds));
  if (ns < 1e6) return ns === 0 ? '0s' : '<1ms';
  if (ns < 1e9 - 5e5) return `${Math.round(ns / 1e6)}ms`;
  const tenths = Math.round(ns / 1e8);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const secs = Math.round(ns / 1e9);
  const p2 = (n: number) => String(n).padStart(2, '0');
  if (secs < 3600) return `${Math.floor(secs / 60)}m${p2(secs % 60)}s`;
  const mins = Math.round(secs / 60);
  return `${Math.floor(mins / 60)}h${p2(mins % 60)}m`;
}

/** Go's fmtFrac: ".ddd" without trailing zeros (or "" when all zero), and the integer part. */
function fraction(v: bigint, prec: number): [string, bigint] {
  const scale = 10n ** BigInt(prec);
  const digits = (v % scale).toString().padStart(prec, '0').replace(/0+$/, '');
  return [digits === '' ? '' : `.${digits}`, v / scale];
}

/** Go's time layout "2006-01-02 15:04:05 -0700"; offsetMinutes east of UTC (default: local zone). */
export function formatTime(epochMs: number, offsetMinutes?: number): string {
  const d = new Date(epochMs);
  const off = offsetMinutes ?? -d.getTimezoneOffset();
  const shifted = new Date(Math.floor(epochMs / 1000) * 1000 + off * 60_000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `${String(shifted.getUTCFullYear()).padStart(4, '0')}-${p2(shifted.getUTCMonth() + 1)}-${p2(shifted.getUTCDate())} ` +
    `${p2(shifted.getUTCHours())}:${p2(shifted.getUTCMinutes())}:${p2(shifted.getUTCSeconds())} ` +
    `${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`
  );
}
