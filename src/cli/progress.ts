/**
 * A one-line progress display on stderr, redrawn at most 10 times a second, shown only when
 * stderr is a terminal and --json is off; otherwise every call is a no-op. Every long command
 * (backup, restore, check, sync, delete/prune, export, shares) draws through this one class:
 * done/total, percent, rate and ETA. Rate and ETA are measured from the first update of each
 * phase, so work that was done before it (unchanged files a backup reuses, a server writing its
 * backup) does not make the rate look faster or slower than it is.
 */
import { formatBytes } from './units.js';

interface ProgressUpdate {
  files?: number;
  totalFiles?: number;
  bytes?: number;
  totalBytes?: number;
  /** What `files` counts (default "files"; sync counts packs). */
  unit?: string;
  /** The file being worked on. */
  current?: string;
  /** A step of a command with several (gc: "mark", "repack", "delete"): shown, and rate and ETA restart with it. */
  phase?: string;
}

/** Where a phase's measurement starts: its first update. */
interface Start {
  at: number;
  bytes: number;
  files: number;
}

export class Progress {
  /** --quiet: no progress line anywhere in this process (set once by main.ts). */
  static quiet = false;
  /**
   * The test hook MOBR_TEST_PROGRESS_EVERY (spec/cli.md "Test hooks", set by main.ts): every
   * update is drawn and an ETA shown as soon as there is a rate, so a test on a small tree sees one.
   */
  static every = false;
  private readonly enabled: boolean;
  private last = -Infinity;
  private drawn = false;
  private phase: string | undefined;
  private start: Start | undefined; // on performance.now(): monotonic, rates and the ETA survive a clock jump

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
    if (!this.start || u.phase !== this.phase) {
      this.phase = u.phase;
      this.start = { at: now, bytes: u.bytes ?? 0, files: u.files ?? 0 };
    }
    if (!Progress.every && now - this.last < 100) return;
    this.last = now;
    const width = this.stream.columns || 80; // 0 when the terminal does not say
    const line = progressLine(this.label, u, this.start, now, Progress.every ? 0 : 1).slice(0, Math.max(10, width - 1));
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

/**
 * A backup's bytes done, for its line: read and stored. Bytes read whose new chunks still wait
 * for their pack's upload are not done (under --limit_upload the last packs upload long after
 * the last byte is read); the count never goes back.
 */
export function storedBytes(): (p: { bytesRead: number; bytesUnstored?: number }) => number {
  let shown = 0;
  return (p) => (shown = Math.max(shown, p.bytesRead - (p.bytesUnstored ?? 0)));
}

/** The line: label, phase, percent, done/total, rate and ETA (once `warmup` seconds of the phase have passed), current file. */
function progressLine(label: string, u: ProgressUpdate, start: Start, now: number, warmup = 1): string {
  const parts = [label];
  if (u.phase) parts.push(u.phase);
  if (u.totalBytes) parts.push(`${Math.floor(((u.bytes ?? 0) * 100) / u.totalBytes)}%`);
  else if (u.totalFiles) parts.push(`${Math.floor(((u.files ?? 0) * 100) / u.totalFiles)}%`);
  if (u.bytes !== undefined) parts.push(u.totalBytes ? `${formatBytes(u.bytes)} / ${formatBytes(u.totalBytes)}` : formatBytes(u.bytes));
  const unit = u.unit ?? 'files';
  if (u.files !== undefined) parts.push(u.totalFiles ? `${u.files}/${u.totalFiles} ${unit}` : `${u.files} ${unit}`);
  const secs = (now - start.at) / 1000;
  const bytes = (u.bytes ?? 0) - start.bytes;
  const files = (u.files ?? 0) - start.files;
  if (secs > warmup / 2 && secs > 0) {
    if (bytes > 0) parts.push(`${formatBytes(bytes / secs)}/s`);
    else if (files > 0 && !u.totalBytes) parts.push(`${Math.round(files / secs)} ${unit}/s`);
  }
  const eta = etaSeconds(u, secs, start, warmup);
  if (eta !== undefined) parts.push(`ETA ${formatEta(eta)}`);
  if (u.current) parts.push(u.current);
  return parts.join('  ');
}

/**
 * Seconds left at the rate since `start` (bytes when their total is known, else files); none in
 * the first second, before any work, or when all is done.
 */
export function etaSeconds(u: ProgressUpdate, secs: number, start: { bytes: number; files: number } = { bytes: 0, files: 0 }, warmup = 1): number | undefined {
  const [done, total, from] = u.totalBytes ? [u.bytes ?? 0, u.totalBytes, start.bytes] : u.totalFiles ? [u.files ?? 0, u.totalFiles, start.files] : [0, 0, 0];
  if (total <= 0 || done >= total || done <= from || secs < warmup || secs <= 0) return undefined;
  return ((total - done) * secs) / (done - from);
}

/** "7s", "3m05s", "2h04m". */
export function formatEta(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
