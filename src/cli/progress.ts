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
  /** The file being worked on. */
  current?: string;
}

export class Progress {
  /** --quiet: no progress line anywhere in this process (set once by main.ts). */
  static quiet = false;
  private readonly enabled: boolean;
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    opts: { json: boolean; stream?: NodeJS.WriteStream },
    private readonly stream: NodeJS.WriteStream = opts.stream ?? process.stderr,
  ) {
    this.enabled = !opts.json && !Progress.quiet && this.stream.isTTY === true;
  }

  update(u: ProgressUpdate): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const parts = [this.label];
    if (u.totalBytes) parts.push(`${Math.floor(((u.bytes ?? 0) * 100) / u.totalBytes)}%`);
    if (u.bytes !== undefined) parts.push(u.totalBytes ? `${formatBytes(u.bytes)} / ${formatBytes(u.totalBytes)}` : formatBytes(u.bytes));
    if (u.files !== undefined) parts.push(u.totalFiles ? `${u.files}/${u.totalFiles} files` : `${u.files} files`);
    const secs = (now - this.started) / 1000;
    if (u.bytes && secs > 0.5) parts.push(`${formatBytes(u.bytes / secs)}/s`);
    if (u.current) parts.push(u.current);
    const width = this.stream.columns || 80; // 0 when the terminal does not say
    const line = parts.join('  ').slice(0, Math.max(10, width - 1));
    this.stream.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }

  /** Clears the line so what follows starts clean. */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
