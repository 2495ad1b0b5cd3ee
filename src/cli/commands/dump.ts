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
import type { RepoFlags } from '../resolve.js';

export interface DumpFlags extends RepoFlags {
  parallelism?: string;
}

type Sink = Output & { once?(ev: string, fn: (...a: unknown[]) => void): unknown; removeListener?(ev: string, fn: (...a: unknown[]) => void): unknown };

export async function runDump(id: string, file: string, flags: DumpFlags, ctx: CliContext): Promise<void> {
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024) ?? 2;
  const { repo, manifests } = await openBackups([id], flags, ctx, parallelism);
  const pool = new WorkerPool(parallelism);
  try {
    const m = manifests[0];
    const rel = file.replace(/^\/+/, '');
    const f = m.files.find((x) => x.path === rel) ?? m.files.find((x) => showName(x.path) === rel); // a byte name as ls shows it (\xNN)
    if (!f) throw new MobrError('NOT_FOUND', `backup ${m.id} has no file ${file}`);
    const out = ctx.stdout as Sink;
    for await (const c of verifiedFileBytes(repo, pool, f)) await writeAll(out, c);
  } finally {
    await pool.close();
    await repo.close();
  }
}

/** Writes and waits for the stream to drain when it asks to (a pipe to a slow reader). */
async function writeAll(out: Sink, c: Uint8Array): Promise<void> {
  if (out.write(c as unknown as string) !== false || typeof out.once !== 'function') return;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: unknown) => reject(new MobrError('IO', `stdout: ${(e as Error).message}`, { cause: e }));
    out.once!('error', onError);
    out.once!('drain', () => {
      out.removeListener?.('error', onError);
      resolve();
    });
  });
}
