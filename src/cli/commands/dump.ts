/**
 * `mo_br dump <ID> <path>`: one file's bytes to stdout, each chunk checked against its id before
 * it is written (spec/browse.md §5). A damaged chunk stops the stream before its bytes: one line
 * on stderr, exit 6 (corrupt); what was written before it is the file's correct beginning.
 */
import { MobrError } from '../../errors.js';
import { showName } from '../../util/names.js';
import { verifiedFileBytes } from '../../backup/dump.js';
import { WorkerPool } from '../../workers/pool.js';
import { intFlag, type CliContext, type Output } from '../context.js';
import { openBackups } from '../open-backup.js';
import { readSession } from '../../repo/session.js';
import type { RepoFlags } from '../resolve.js';

export interface DumpFlags extends RepoFlags {
  parallelism?: string;
}

type Listener = (...a: unknown[]) => void;
type Sink = Output & { on?(ev: string, fn: Listener): unknown; once?(ev: string, fn: Listener): unknown; removeListener?(ev: string, fn: Listener): unknown };

export async function runDump(id: string, file: string, flags: DumpFlags, ctx: CliContext): Promise<void> {
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024) ?? 2;
  const { repo, manifests } = await openBackups([id], flags, ctx, parallelism);
  const pool = new WorkerPool(parallelism);
  try {
    const m = manifests[0];
    const rel = file.replace(/^\/+/, '');
    const f = m.files.find((x) => x.path === rel) ?? m.files.find((x) => showName(x.path) === rel); // a byte name as ls shows it (\xNN)
    if (!f) throw new MobrError('NOT_FOUND', `backup ${m.id} has no file ${file}`);
    const out = new StdoutWriter(ctx.stdout as Sink);
    // under a shared lock, as a restore (spec/gc.md §2.4): a gc meanwhile deletes nothing it reads
    await readSession(repo, { purpose: `dump ${m.id}`, signal: ctx.signal }, async () => {
      for await (const c of verifiedFileBytes(repo, pool, f)) {
        // the reader went away (`dump … | head -c 100`): stop quietly, as cat does
        if (!(await out.write(c))) return;
      }
    });
  } finally {
    await pool.close();
    await repo.close();
  }
}

/**
 * Writes chunks to stdout, waiting for it to drain when it asks to (a pipe to a slow reader).
 * A closed pipe (EPIPE) ends the output: write returns false; another error is IO. The error
 * listener stays, so a late EPIPE never surfaces as an unhandled 'error' event.
 */
class StdoutWriter {
  private closed = false;
  private failure: unknown;
  constructor(private readonly out: Sink) {
    out.on?.('error', (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') this.closed = true;
      else this.failure ??= e;
    });
  }

  async write(c: Uint8Array): Promise<boolean> {
    if (this.closed) return false;
    const more = this.out.write(c as unknown as string);
    if (more === false && typeof this.out.once === 'function') {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.removeListener?.('drain', done);
          this.out.removeListener?.('error', done);
          resolve();
        };
        this.out.once!('drain', done);
        this.out.once!('error', done);
      });
    }
    if (this.failure !== undefined) throw new MobrError('IO', `stdout: ${(this.failure as Error).message}`, { cause: this.failure });
    return !this.closed;
  }
}
