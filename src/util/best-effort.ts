/**
 * Cleanup that must not fail the work it cleans up after (removing a temp file once the real
 * error is known, closing a handle on the way out). Its failures are not dropped: what is expected
 * (the thing is already gone: ENOENT, NOT_FOUND) is ignored, anything else goes to one sink the
 * program sets (the CLI logs it at warn level, src/cli/main.ts).
 */
import { isMobrError } from '../errors.js';

type CleanupFailureSink = (what: string, err: unknown) => void;

let sink: CleanupFailureSink = () => undefined;

/** Where failed best-effort cleanups are reported; returns the previous sink. */
export function onCleanupFailure(s: CleanupFailureSink): CleanupFailureSink {
  const prev = sink;
  sink = s;
  return prev;
}

/** The error says the thing is not there (a file, an object): nothing to clean up. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || isMobrError(e, 'NOT_FOUND');
}

/** Reports a failure that is not thrown (unless it only says the thing is already gone). */
export function reportUnthrown(what: string, e: unknown): void {
  if (!isMissing(e)) sink(what, e);
}

/** Runs a cleanup; a failure other than "already gone" is reported as `what`, never thrown. */
export async function bestEffort<T>(work: Promise<T> | (() => Promise<T>), what: string): Promise<T | undefined> {
  try {
    return await (typeof work === 'function' ? work() : work);
  } catch (e) {
    reportUnthrown(what, e);
    return undefined;
  }
}

/** The value, or undefined when the thing is not there; any other failure is thrown. */
export async function ignoreMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}
