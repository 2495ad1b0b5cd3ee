/**
 * Many small files at once, for restore and check: their chunks (which a backup writes next to
 * each other) are fetched in a few ranged reads and handed to one worker task, which checks
 * every chunk against its id and every file against its size and SHA-256 and, for a restore,
 * writes the files. Nothing comes back but a verdict per file: no per-file message, read or
 * copy on the main thread.
 */
import { MobrError, isMobrError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type FileEntry } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import type { WorkerPool } from '../workers/pool.js';
import type { SmallFile } from '../workers/tasks.js';
import { owned, planChunkRuns, storeSource, type RangeSource } from './reader.js';

/**
 * Checks (targets absent) or restores (each file to its target) small files; returns per file
 * undefined when sound, else why not: a MobrError for damage or a missing chunk, the store's
 * MobrError for a run it could not read, the system's error (with its code) for a failed write.
 */
export async function smallFilesVerdicts(
  repo: Repository,
  pool: WorkerPool,
  files: FileEntry[],
  targets?: string[],
  source: RangeSource = storeSource(repo),
): Promise<(Error | undefined)[]> {
  const out: (Error | undefined)[] = new Array(files.length);
  for (const [k, f] of files.entries()) {
    for (let i = 0; i < chunkCount(f); i++) {
      if (!repo.location(chunkId(f, i))) {
        out[k] = new MobrError('NOT_FOUND', `chunk ${toHex(chunkId(f, i)).slice(0, 16)} is missing from the repository`);
        break;
      }
    }
  }
  const ids: Uint8Array[] = [];
  for (const [k, f] of files.entries()) if (!out[k]) for (let i = 0; i < chunkCount(f); i++) ids.push(chunkId(f, i));
  const runs = planChunkRuns(repo, ids);
  const got = await Promise.all(
    runs.map((r) =>
      source(r.pack, r.offset, r.length).then(owned, (e) => {
        if (isMobrError(e)) return e;
        throw e;
      }),
    ),
  );
  // where each chunk (in `ids` order) lies: run and offset within the run's bytes
  const at: { run: number; offset: number }[] = [];
  runs.forEach((r, ri) => r.items.forEach((it) => at.push({ run: ri, offset: it.loc.offset - r.offset })));
  const task = { bufs: [] as Uint8Array[], chunkBuf: [] as number[], chunkOffset: [] as number[], chunkLength: [] as number[], codecs: [] as number[], rawLengths: [] as number[], ids: new Uint8Array(0), files: [] as SmallFile[] };
  const bufOf = new Map<number, number>();
  const taskIds: Uint8Array[] = [];
  const where: { pack: string; id: Uint8Array }[] = [];
  const sent: number[] = [];
  let j = 0;
  for (const [k, f] of files.entries()) {
    if (out[k]) continue;
    const n = chunkCount(f);
    const failed = at.slice(j, j + n).map((a) => got[a.run]).find((g): g is MobrError => g instanceof MobrError);
    if (failed) {
      out[k] = failed;
      j += n;
      continue;
    }
    const first = task.chunkBuf.length;
    for (let i = 0; i < n; i++, j++) {
      const a = at[j];
      let b = bufOf.get(a.run);
      if (b === undefined) {
        bufOf.set(a.run, (b = task.bufs.length));
        task.bufs.push(got[a.run] as Uint8Array);
      }
      const loc = repo.location(ids[j])!;
      task.chunkBuf.push(b);
      task.chunkOffset.push(a.offset);
      task.chunkLength.push(loc.length);
      task.codecs.push(loc.codec);
      task.rawLengths.push(loc.rawLength);
      taskIds.push(ids[j]);
      where.push({ pack: loc.pack, id: ids[j] });
    }
    const t = targets?.[k];
    task.files.push({
      first,
      count: n,
      size: f.size,
      // a copy: the entry's digest is a view into the whole decoded manifest, which would be cloned with it
      sha256: f.sha256 && new Uint8Array(f.sha256),
      // the temporary name is short and in the target's folder, as restore.ts makes it
      write: t === undefined ? undefined : { tmp: path.join(path.dirname(t), `.mobr-partial-${randomBytes(4).toString('hex')}`), target: t, mode: f.mode, mtimeMs: f.mtimeMs },
    });
    sent.push(k);
  }
  if (sent.length === 0) return out;
  task.ids = new Uint8Array(taskIds.length * 32);
  taskIds.forEach((id, i) => task.ids.set(id, i * 32));
  const problems = await pool.smallFiles(task);
  problems.forEach((p, s) => {
    if (!p) return;
    const k = sent[s];
    if (p.kind === 'chunk') out[k] = new MobrError('CORRUPT_PACK', `chunk ${toHex(where[p.chunk].id).slice(0, 16)} in pack ${where[p.chunk].pack.slice(0, 16)}: ${p.message} (damaged)`);
    else if (p.kind === 'content') out[k] = new MobrError('CORRUPT', p.message);
    else out[k] = Object.assign(new Error(p.message), { code: p.code });
  });
  return out;
}
