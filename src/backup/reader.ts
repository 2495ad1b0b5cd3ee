/**
 * Reading files' bytes back from a repository: consecutive chunks that lie back to back in one
 * pack are fetched with one ranged read (few requests on S3), decoded and checked against their
 * ids in the worker pool, a few runs ahead of the consumer. (Many files at once: restore-packs.ts.)
 */
import { MobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type FileEntry } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import type { ChunkLocation } from '../repo/index-file.js';
import type { WorkerPool } from '../workers/pool.js';
import type { MasterKey } from '../crypto/master.js';

/** A ranged read covers up to a whole pack (16 MiB by default): on S3, fewer than 1 GET per 8 MiB. */
const MAX_RUN = 16 * 1024 * 1024;
/** Runs fetched ahead of the one being written (one: the bytes in flight stay at most 2 runs). */
const AHEAD = 1;

/**
 * Where a run's bytes come from: by default a ranged read of the pack (check passes a cache);
 * `into`, a buffer the source may read them into (RangeOptions), else it returns its own.
 */
export type RangeSource = (pack: string, offset: number, length: number, into?: Uint8Array) => Promise<Uint8Array>;

export interface Run {
  pack: string;
  offset: number;
  length: number;
  items: { id: Uint8Array; loc: ChunkLocation }[];
}

/** Groups chunks, in order, into ranged reads; throws NOT_FOUND naming the first missing chunk. */
export function planChunkRuns(repo: Repository, ids: Iterable<Uint8Array>): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  for (const id of ids) {
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

function* fileIds(f: FileEntry): Iterable<Uint8Array> {
  const n = chunkCount(f);
  for (let i = 0; i < n; i++) yield chunkId(f, i);
}

/** Groups a file's chunks into ranged reads; throws NOT_FOUND naming the first missing chunk. */
export function planRuns(repo: Repository, f: FileEntry): Run[] {
  return planChunkRuns(repo, fileIds(f));
}

export const storeSource = (repo: Repository): RangeSource => (pack, offset, length, into) => repo.readPackRange(pack, offset, length, into);

/** A buffer the caller may hand over: its own whole ArrayBuffer, else a copy (Buffer#slice is a view). */
export function owned(b: Uint8Array): Uint8Array {
  return b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * Reads and decodes one run. The run's bytes and its ids go to the worker as compact buffers of
 * their own (a view into a bigger buffer would be cloned whole, with that buffer).
 */
export async function fetchRun(
  pool: WorkerPool,
  source: RangeSource,
  run: Run,
  keys?: MasterKey,
): Promise<{ plain: (Uint8Array | null)[]; problems: (string | null)[] }> {
  const bytes = owned(await source(run.pack, run.offset, run.length));
  const ids = new Uint8Array(run.items.length * 32);
  run.items.forEach((it, i) => ids.set(it.id, i * 32));
  return pool.decodeOwned(
    bytes,
    run.items.map((it) => ({ offset: it.loc.offset - run.offset, length: it.loc.length, codec: it.loc.codec, rawLength: it.loc.rawLength })),
    ids,
    keys,
  );
}

function damaged(run: Run, i: number, problem: string | null): MobrError {
  return new MobrError('CORRUPT_PACK', `chunk ${toHex(run.items[i].id).slice(0, 16)} in pack ${run.pack.slice(0, 16)}: ${problem} (damaged)`);
}

async function fetchRunOrThrow(pool: WorkerPool, source: RangeSource, run: Run, keys: MasterKey | undefined): Promise<Uint8Array[]> {
  const r = await fetchRun(pool, source, run, keys);
  return r.plain.map((p, i) => {
    if (!p) throw damaged(run, i, r.problems[i]);
    return p;
  });
}

/** Yields the plain chunks of a file in order, every one verified against its id. */
export async function* readFileChunks(repo: Repository, pool: WorkerPool, f: FileEntry, source: RangeSource = storeSource(repo)): AsyncIterable<Uint8Array> {
  const runs = planRuns(repo, f);
  const pending: Promise<Uint8Array[]>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < AHEAD && next < runs.length) {
      const p = fetchRunOrThrow(pool, source, runs[next++], repo.crypt?.master);
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
