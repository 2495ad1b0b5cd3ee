/**
 * A one-line progress display on stderr, redrawn at most 10 times a second, shown only when
 * stderr is a terminal and --json is off; otherwise every call is a no-op.
 */
import { formatBytes } from './units.js';

export interface ProgressUpdate {
  files?: number;
  totalFiles?: number;
  bytes?: number;
  totalBytes?: number;
  /** What `files` counts (default "files"; sync counts packs). */
  unit?: string;
  /** The file being worked on. */
  current?: string;
}

export class Progress {
  /** --quiet: no progress line anywhere in this process (set once by main.ts). */
  static quiet = false;
  private readonly enabled: boolean;
  private last = 0;
  private drawn = false;
  private readonly started = performance.now(); // monotonic: rates and the ETA survive a clock jump

  constructor(
    private readonly label: string,
    opts: { json: boolean; stream?: NodeJS.WriteStream },
    private readonly stream: NodeJS.WriteStream = opts.stream ?? process.stderr,
  ) {
    this.enabled = !opts.json && !Progress.quiet && this.stream.isTTY === true;
  }

  update(u: ProgressUpdate): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    const parts = [this.label];
    if (u.totalBytes) parts.push(`${Math.floor(((u.bytes ?? 0) * 100) / u.totalBytes)}%`);
    if (u.bytes !== undefined) parts.push(u.totalBytes ? `${formatBytes(u.bytes)} / ${formatBytes(u.totalBytes)}` : formatBytes(u.bytes));
    const unit = u.unit ?? 'files';
    if (u.totalFiles && !u.totalBytes) parts.push(`${Math.floor((u.files ?? 0) * 100 / u.totalFiles)}%`);
    if (u.files !== undefined) parts.push(u.totalFiles ? `${u.files}/${u.totalFiles} ${unit}` : `${u.files} ${unit}`);
    const secs = (now - this.started) / 1000;
    if (u.bytes && secs > 0.5) parts.push(`${formatBytes(u.bytes / secs)}/s`);
    else if (u.files && !u.totalBytes && secs > 0.5) parts.push(`${Math.round(u.files / secs)} ${unit}/s`);
    const eta = etaSeconds(u, secs);
    if (eta !== undefined) parts.push(`ETA ${formatEta(eta)}`);
    if (u.current) parts.push(u.current);
    const width = this.stream.columns || 80; // 0 when the terminal does not say
    const line = parts.join('  ').slice(0, Math.max(10, width - 1));
    this.stream.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }

  /** Clears the line before a line goes to stdout (the next update draws it again). */
  clear(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Clears the line so what follows starts clean. */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** Seconds left at the rate so far (bytes when their total is known, else files); none in the first second. */
export function etaSeconds(u: ProgressUpdate, secs: number): number | undefined {
  const f = u.totalBytes ? (u.bytes ?? 0) / u.totalBytes : u.totalFiles ? (u.files ?? 0) / u.totalFiles : undefined;
  if (f === undefined || f <= 0 || f >= 1 || secs < 1) return undefined;
  return (secs * (1 - f)) / f;
}

/** "7s", "3m05s", "2h04m". */
export function formatEta(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
