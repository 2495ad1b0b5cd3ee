/** What every command gets: where to write, the catalog, and whether output is JSON. */
import { MobrError } from '../errors.js';
import { Catalog } from './meta.js';
import type { Logger } from './log.js';
import type { Summary } from './summary.js';

export interface Output {
  write(s: string): unknown;
}

export interface CliContext {
  stdout: Output;
  stderr: NodeJS.WriteStream | Output;
  json: boolean;
  catalog: Catalog;
  /** --log_file / --log_level (log.ts); absent when a caller builds a context by hand. */
  log?: Logger;
  /** --verbose: the summary even off a terminal. --quiet: no progress, no summary. */
  verbose?: boolean;
  quiet?: boolean;
  /** SIGINT/SIGTERM: long commands stop between files and clean up (interrupt.ts). */
  signal?: AbortSignal;
  /** Every summary a command makes (shown or not): --metrics_file and the hooks read them. */
  onSummary?: (s: Summary) => void;
  /** --metrics_file: stats --html reads the last check from it. */
  metricsFile?: string;
}

/** The schema name of a command's JSON document (spec/json.md): `mobr.<command>.v1`. */
export function jsonSchema(command: string, version = 1): string {
  return `mobr.${command}.v${version}`;
}

/**
 * Writes one JSON document (the --json output of a command): an object whose first key is
 * `"schema": "mobr.<command>.v<version>"` (spec/json.md), then the command's fields.
 */
export function printJson(ctx: CliContext, command: string, value: Record<string, unknown>, version = 1): void {
  ctx.stdout.write(`${JSON.stringify({ schema: jsonSchema(command, version), ...value }, null, 2)}\n`);
}

/** A whole number >= min from a flag value, or BAD_INPUT naming the flag. */
export function intFlag(value: string | undefined, flag: string, min = 1, max = 1 << 30): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    throw new MobrError('BAD_INPUT', `bad ${flag} ${JSON.stringify(String(value).slice(0, 40))}: want a whole number from ${min} to ${max}`);
  }
  return Number(s);
}

/** A backup ID given on the command line: the library's one rule (repo/backup-id.ts). */
export { checkBackupId } from '../repo/backup-id.js';
