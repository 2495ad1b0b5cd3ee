/**
 * Typed errors. Every error mobr raises on purpose is a MobrError with a stable `code`;
 * the CLI maps codes to one-line messages and exit codes in one place (src/cli/exit.ts).
 * Messages must never contain secrets: callers pass locations, never credentials.
 */
export type ErrorCode =
  | 'BAD_INPUT' // a flag, argument or value the user gave is wrong
  | 'ENOENT_BACKUP' // no backup with that ID / at that location
  | 'NOT_FOUND' // a repository object is missing
  | 'CORRUPT' // bytes do not match their hash or cannot be decoded
  | 'CORRUPT_PACK'
  | 'CORRUPT_INDEX'
  | 'CORRUPT_MANIFEST'
  | 'CORRUPT_META'
  | 'REPO_EXISTS'
  | 'NO_REPO' // the location holds no mobr repository
  | 'REPO_VERSION' // written by a newer mobr
  | 'AUTH_FAILED'
  | 'WRONG_PASSWORD' // the repository password opens none of its key files
  | 'PASSWORD_NEEDED' // the repository is encrypted and no password is at hand
  | 'ACCESS_DENIED'
  | 'UNREACHABLE'
  | 'NOT_MATRIXONE'
  | 'SERVER_ERROR'
  | 'IO' // local filesystem error (disk full, permission)
  | 'LOCKED' // another process holds an exclusive lock
  | 'CHECK_FAILED' // verification found damage
  | 'UNSAFE_PATH' // a path would escape its root
  | 'NOT_AVAILABLE' // a feature that is not available in this build
  | 'INTERRUPTED';

export class MobrError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'MobrError';
  }
}

export function isMobrError(e: unknown, code?: ErrorCode): e is MobrError {
  return e instanceof MobrError && (code === undefined || e.code === code);
}

/**
 * Throws INTERRUPTED when the signal has fired (its reason, e.g. 'SIGINT', in the message), or the
 * reason itself when it is a MobrError (a session's signal fired by the loss of its lock).
 */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted && signal.reason instanceof MobrError) throw signal.reason;
  if (signal?.aborted) throw new MobrError('INTERRUPTED', `interrupted${typeof signal.reason === 'string' ? ` (${signal.reason})` : ''}`);
}

/** Adds context to an error as it climbs ("load pack ab12: read: unexpected EOF"). */
export function withContext(context: string, e: unknown): MobrError {
  if (e instanceof MobrError) return new MobrError(e.code, `${context}: ${e.message}`, { cause: e });
  const err = e as NodeJS.ErrnoException;
  const errno = err?.code;
  const msg = errno ? `${ERRNO_TEXT[errno] ?? errno}${err.syscall ? ` (${err.syscall})` : ''}` : String(err?.message ?? e);
  const code: ErrorCode = deniedReason(e) ? 'ACCESS_DENIED' : 'IO';
  return new MobrError(code, `${context}: ${msg}`, { cause: e });
}

/** The errno codes by which the system refuses (ACCESS_DENIED, exit 4), in plain words: the one such mapping. */
const DENIED: Readonly<Record<string, string>> = { EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system' };

/**
 * 'permission denied' (EACCES, EPERM) or 'read-only file system' (EROFS) when `e` is the system
 * refusing, for an ACCESS_DENIED message; undefined for any other error.
 */
export function deniedReason(e: unknown): string | undefined {
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof errno === 'string' && Object.hasOwn(DENIED, errno) ? DENIED[errno] : undefined;
}

/** Plain words for the errno codes a user can act on (the code itself stays in the message). */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EROFS: 'read-only file system (EROFS)',
  ENOSPC: 'no space left on device (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  ELOOP: 'a link where a file was walked, or too many links (ELOOP)',
}
