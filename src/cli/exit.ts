/**
 * The one place where errors become exit codes and a single stderr line `mo_br: <message>`.
 * Never a stack trace; newlines in messages are folded; known secrets are masked.
 *
 * Exit codes:
 *    0  ok
 *    1  check failed: a backup is damaged or files are missing (CHECK_FAILED)
 *    2  bad input: unknown flag, missing flag or argument, bad value, unsafe path (BAD_INPUT, UNSAFE_PATH)
 *    3  not found: no such backup ID, no repository there (ENOENT_BACKUP, NOT_FOUND, NO_REPO)
 *    4  auth/access: wrong password or keys, permission denied; a wrong repository password, or none
 *       for an encrypted repository (AUTH_FAILED, ACCESS_DENIED, WRONG_PASSWORD, PASSWORD_NEEDED)
 *    5  unreachable: the server or endpoint does not answer, or is not MatrixOne (UNREACHABLE, NOT_MATRIXONE)
 *    6  corrupt: a meta file, manifest, index or pack fails its checks (CORRUPT, CORRUPT_*)
 *    7  locked: another process holds the lock (LOCKED)
 *    8  the MatrixOne server reported an error (SERVER_ERROR)
 *    9  not available in this build, or the repository is from a newer mobr (NOT_AVAILABLE, REPO_VERSION)
 *   10  local I/O error: disk full, read/write failure (IO)
 *  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM (INTERRUPTED; src/cli/interrupt.ts)
 *   70  internal error: anything unexpected (a bug), including REPO_EXISTS surfacing here
 */
import { maskSecrets } from '../util/mask.js';
import type { ErrorCode } from '../errors.js';
import { deniedReason, MobrError } from '../errors.js';

export const EXIT_OK = 0;
const EXIT_INTERNAL = 70;

const EXIT_CODES: Record<ErrorCode, number> = {
  CHECK_FAILED: 1,
  BAD_INPUT: 2,
  UNSAFE_PATH: 2,
  ENOENT_BACKUP: 3,
  NOT_FOUND: 3,
  NO_REPO: 3,
  AUTH_FAILED: 4,
  WRONG_PASSWORD: 4,
  PASSWORD_NEEDED: 4,
  ACCESS_DENIED: 4,
  UNREACHABLE: 5,
  NOT_MATRIXONE: 5,
  CORRUPT: 6,
  CORRUPT_PACK: 6,
  CORRUPT_INDEX: 6,
  CORRUPT_MANIFEST: 6,
  CORRUPT_META: 6,
  LOCKED: 7,
  SERVER_ERROR: 8,
  NOT_AVAILABLE: 9,
  REPO_VERSION: 9,
  IO: 10,
  INTERRUPTED: 130,
  REPO_EXISTS: EXIT_INTERNAL,
};

/** Exit codes for raw Node errors that escaped wrapping (errno code -> exit code). */
const ERRNO_EXIT: Record<string, number> = {
  ENOENT: 3,
  ENOTDIR: 2,
  EISDIR: 2,
  ENOSPC: 10,
  EIO: 10,
  EDQUOT: 10,
  ECONNREFUSED: 5,
  EHOSTUNREACH: 5,
  ENOTFOUND: 5,
  ETIMEDOUT: 5,
};

export function exitCodeFor(e: unknown): number {
  if (e instanceof MobrError) return EXIT_CODES[e.code] ?? EXIT_INTERNAL;
  if (deniedReason(e)) return EXIT_CODES.ACCESS_DENIED;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string' && errno in ERRNO_EXIT) return ERRNO_EXIT[errno];
  return EXIT_INTERNAL;
}

/** The one line printed for an error (without the "mo_br: " prefix). */
export function messageFor(e: unknown, secrets: readonly string[] = []): string {
  let msg: string;
  if (e instanceof MobrError) msg = e.message;
  else if (e instanceof Error) {
    const errno = (e as NodeJS.ErrnoException).code;
    msg = errno && errno in ERRNO_EXIT ? e.message : `internal error: ${e.message}`;
  } else msg = `internal error: ${String(e)}`;
  msg = msg.replace(/\s*\r?\n\s*/g, ' ').trim() || 'unknown error';
  return maskSecrets(msg, secrets);
}

/** The public code of each exit code: what `--json` errors carry in `error.code` (spec/json.md). */
const PUBLIC_CODES: Record<number, string> = {
  1: 'CHECK_FAILED',
  2: 'BAD_INPUT',
  3: 'NOT_FOUND',
  4: 'ACCESS_DENIED',
  5: 'UNREACHABLE',
  6: 'CORRUPT',
  7: 'LOCKED',
  8: 'SERVER_ERROR',
  9: 'NOT_AVAILABLE',
  10: 'IO',
  130: 'INTERRUPTED',
  70: 'INTERNAL',
};

/** The `--json` error document: `{"schema":"mobr.error.v1","error":{code,exit,message,detail}}`. */
function errorDocument(e: unknown, secrets: readonly string[] = []): { schema: string; error: { code: string; exit: number; message: string; detail: string } } {
  const exit = exitCodeFor(e);
  const detail = e instanceof MobrError ? e.code : ((e as NodeJS.ErrnoException | undefined)?.code ?? 'INTERNAL');
  return { schema: 'mobr.error.v1', error: { code: PUBLIC_CODES[exit] ?? 'INTERNAL', exit, message: messageFor(e, secrets), detail: String(detail) } };
}

/**
 * Writes `mo_br: <message>` to stderr and returns the exit code. With `json`, the error goes to
 * stdout as the error document instead (a script reading --json output parses every outcome),
 * and the same one line still goes to stderr for a person watching.
 */
export function reportError(e: unknown, stderr: { write(s: string): unknown }, secrets: readonly string[] = [], json?: { write(s: string): unknown }): number {
  if (json) json.write(`${JSON.stringify(errorDocument(e, secrets), null, 2)}\n`);
  stderr.write(`mo_br: ${messageFor(e, secrets)}\n`);
  return exitCodeFor(e);
}
