/**
 * Ending well when the user stops us or stops reading:
 * - SIGINT (Ctrl-C) and SIGTERM abort an AbortSignal every long command watches (backup,
 *   restore, check, sync, delete, prune): it stops at its next safe point (between files and
 *   chunks; gc's steps, spec/gc.md), cleans up (temp files, partial files, staging, locks)
 *   through its normal failure path, and mo_br exits 128+signal number (130, 143) with one line.
 *   A second signal exits at once.
 * - A closed stdout (`mo_br list | head`) is EPIPE on write: the rest of the output is dropped
 *   quietly and the command ends as it would have.
 */
import { constants } from 'node:os';

interface Interrupts {
  signal: AbortSignal;
  /** 130 or 143 once a signal came; undefined before. */
  exitCode(): number | undefined;
  dispose(): void;
}

const HANDLED = ['SIGINT', 'SIGTERM'] as const;

function exitCodeForSignal(sig: NodeJS.Signals): number {
  return 128 + (constants.signals[sig] ?? 0);
}

export function watchInterrupts(onSecond: (code: number) => void = (code) => process.exit(code)): Interrupts {
  const ac = new AbortController();
  let got: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (got) return onSecond(exitCodeForSignal(sig));
    got = sig;
    ac.abort(sig);
  };
  for (const s of HANDLED) process.on(s, handler);
  return {
    signal: ac.signal,
    exitCode: () => (got ? exitCodeForSignal(got) : undefined),
    dispose: () => {
      for (const s of HANDLED) process.off(s, handler);
    },
  };
}

/** Makes writes to a closed pipe harmless: returns whether stdout is still open. */
export function quietOnEpipe(out: NodeJS.WriteStream): () => boolean {
  let open = true;
  out.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
      open = false;
      return;
    }
    throw e;
  });
  return () => open;
}
