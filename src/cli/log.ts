/**
 * `--log_file` / `--log_level`: structured log lines (logfmt), one per event:
 *
 *   time=2026-11-30T04:20:00.123Z level=info command=backup backup_id=… msg="backup stored" files=9
 *
 * `time` is ISO-8601 UTC, `level` one of debug < info < warn < error (default error: only
 * failures), `command` the subcommand, `backup_id` when one is known. Values with spaces, quotes
 * or `=` are JSON-quoted. Known secrets are masked (`***`) and no secret-bearing flag value is ever
 * passed in. Default sink: stderr (the console); `--log_file console` (mo_br's documented default
 * value) is the console too; any other `--log_file` appends to a file, written synchronously so a
 * crash keeps every line logged before it.
 */
import { closeSync } from 'node:fs';
import { openOutputAppend, writeAllSync } from '../util/output-path.js';
import { MobrError } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { maskSecrets } from '../util/mask.js';

/** mo_br's `--log_file` value meaning the console (its documented default), never a file of that name. */
const CONSOLE = 'console';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(v: string | undefined): LogLevel {
  if (v === undefined || v === '') return 'error';
  const l = v.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LogLevel;
  throw new MobrError('BAD_INPUT', `bad --log_level ${JSON.stringify(v.slice(0, 20))}: use debug, info, warn or error`);
}

type Fields = Record<string, string | number | boolean | undefined>;

function fmtValue(v: string | number | boolean): string {
  const s = String(v);
  return s === '' || /[\s"=\\]/.test(s) ? JSON.stringify(s) : s;
}

export class Logger {
  private readonly min: number;
  private fd: number | undefined;
  /** The backup the command is working on, added to every line once known. */
  backupId: string | undefined;

  constructor(
    level: LogLevel,
    readonly command: string,
    private readonly console: { write(s: string): unknown },
    readonly file: string | undefined,
    private readonly secrets: readonly string[] = [],
    forbidden: readonly string[] = [],
  ) {
    this.min = LOG_LEVELS.indexOf(level);
    // an existing regular file is appended to (its documented purpose); never a repository's or the catalog's
    if (file === CONSOLE) this.file = undefined;
    else if (file !== undefined) this.fd = openOutputAppend(file, { what: '--log_file', replace: true, forbidden });
  }

  /** True when lines go to the console (stderr), not to a file. */
  get toConsole(): boolean {
    return this.fd === undefined;
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.min;
  }

  debug(msg: string, fields?: Fields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields: Fields = {}): void {
    if (!this.enabled(level)) return;
    const parts = [`time=${new Date(systemClock.now()).toISOString()}`, `level=${level}`, `command=${fmtValue(this.command)}`];
    const id = (fields.backup_id as string | undefined) ?? this.backupId;
    if (id) parts.push(`backup_id=${fmtValue(id)}`);
    parts.push(`msg=${fmtValue(msg)}`);
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && k !== 'backup_id') parts.push(`${k}=${fmtValue(v)}`);
    let line = parts.join(' ').replace(/\r?\n/g, ' ');
    line = maskSecrets(line, this.secrets);
    line += '\n';
    if (this.fd === undefined) this.console.write(line);
    else {
      try {
        writeAllSync(this.fd, line); // whole lines, also through a fifo opened without blocking
      } catch {
        /* a full disk must not turn a good backup into a failure: the log is best effort */
      }
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
