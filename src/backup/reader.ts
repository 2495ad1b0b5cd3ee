/**
 * Reading a file's bytes back from a repository: consecutive chunks that lie back to back in one
 * pack are fetched with one ranged read (few requests on S3), decoded and checked against their
 * ids in the worker pool, a few runs ahead of the consumer.
 */
import { MobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type FileEntry } from '../repo/manifest.js';
import { packKey } from '../repo/keys.js';
import type { Repository } from '../repo/repository.js';
import type { ChunkLocation } from '../repo/index-file.js';
import type { WorkerPool } from '../workers/pool.js';

const MAX_RUN = 8 * 1024 * 1024;
const AHEAD = 2;

interface Run {
  pack: string;
  offset: number;
  length: number;
  items: { id: Uint8Array; loc: ChunkLocation }[];
}

/** Groups a file's chunks into ranged reads; throws NOT_FOUND naming the first missing chunk. */
export function planRuns(repo: Repository, f: FileEntry): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  const n = chunkCount(f);
  for (let i = 0; i < n; i++) {
    const id = chunkId(f, i);
    const loc = repo.location(id);
    if (!loc) throw new MobrError('NOT_FOUND', `chunk ${toHex(id).slice(0, 16)} is missing from the repository`);
    if (cur && cur.pack === loc.pack && cur.offset + cur.length === loc.offset && cur.length + loc.length <= MAX_RUN) {
      cur.length += loc.length;
      cur.items.push({ id, loc });
    } else {
      cur = { pack: loc.pack, offset: loc.offset, length: loc.length, items: [{ id, loc }] };
      runs.push(cur);
    }
  }
  return runs;
}

async function fetchRun(repo: Repository, pool: WorkerPool, run: Run): Promise<Uint8Array[]> {
  const bytes = await repo.store.getRange(packKey(run.pack), run.offset, run.length);
  const stored = run.items.map((it) => bytes.subarray(it.loc.offset - run.offset, it.loc.offset - run.offset + it.loc.length));
  const r = await pool.decode(
    stored,
    run.items.map((it) => it.loc.codec),
    run.items.map((it) => it.loc.rawLength),
    run.items.map((it) => it.id),
  );
  return r.plain.map((p, i) => {
    if (!p) throw new MobrError('CORRUPT_PACK', `chunk ${toHex(run.items[i].id).slice(0, 16)} in pack ${run.pack.slice(0, 16)}: ${r.problems[i]} (damaged)`);
    return p;
  });
}

/** Yields the plain chunks of a file in order, every one verified against its id. */
export async function* readFileChunks(repo: Repository, pool: WorkerPool, f: FileEntry): AsyncIterable<Uint8Array> {
  const runs = planRuns(repo, f);
  const pending: Promise<Uint8Array[]>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < AHEAD && next < runs.length) {
      const p = fetchRun(repo, pool, runs[next++]);
      p.catch(() => undefined); // observed below, in order
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    const chunks = await pending.shift()!;
    fill();
    yield* chunks;
  }
}
