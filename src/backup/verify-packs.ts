/**
 * Checking files by pack (check with data, spec/repository.md §5.1.1): each pack the files need
 * is read whole once; a worker checks its header against its name and its blob bytes against
 * the header's hash, decodes every chunk the files need and checks it against its id, and checks
 * each file whose chunks all lie in that task against its size and SHA-256. Each read lane
 * reads its packs into one reused shared slot (ReadBuffers). The plain chunks of files spread
 * over several packs come back (shared or transferred, not copied) and are hashed here in file
 * order as they arrive; only those that come before their turn are copied.
 */
import { createHash, type Hash } from 'node:crypto';
import { checkAborted, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import type { ChunkLists } from '../repo/file-table.js';
import { checkPack } from '../repo/pack.js';
import { blobFields, planPackReads, type PackRead, type PlannedBlob } from '../repo/read-plan.js';
import type { Repository } from '../repo/repository.js';
import { equalBytes } from '../util/bytes.js';
import { mapLimit, READ_AHEAD } from '../util/concurrency.js';
import type { WorkerPool } from '../workers/pool.js';
import type { PackCheckResult } from '../workers/tasks.js';
import { isShared, ReadBuffers, sendable } from './read-buffers.js';
import { taskFiles } from './restore-packs.js';

interface PackCheckReport {
  damagedPacks: { pack: string; problem: string }[];
  packReads: number;
}

/** The regular files of a manifest, by number: what a check needs of each (issue #22: read from the manifest's table). */
export interface CheckedFiles extends ChunkLists {
  size(k: number): number;
  sha256(k: number): Uint8Array | undefined;
}

/** A file spread over several packs: its chunks hashed in order, those that came early kept. */
interface Ordered {
  sha: Hash;
  next: number;
  early: Map<number, Uint8Array>;
}

export class PackChecker {
  readonly report: PackCheckReport = { damagedPacks: [], packReads: 0 };
  private readonly left: number[];
  private readonly done: boolean[];
  private readonly ordered = new Map<number, Ordered>();
  /** One slot a read in flight: each pack lands in reused memory, shared with the workers (read-buffers.ts). */
  private readonly buffers: ReadBuffers;

  /** `verdict(k, problem)` is called once per file (problem undefined: sound). */
  constructor(
    private readonly repo: Repository,
    private readonly pool: WorkerPool,
    private readonly files: CheckedFiles,
    private readonly verdict: (k: number, problem: string | undefined) => void,
    /** Stops the check before each pack read (INTERRUPTED). */
    private readonly signal?: AbortSignal,
  ) {
    this.left = new Array<number>(files.length).fill(0);
    this.done = new Array<boolean>(files.length).fill(false);
    // a pack holds up to packSize blob bytes and one chunk more, and its header: twice the pack size
    // holds the header of the smallest blobs too (a slot's pages untouched by a read cost nothing)
    this.buffers = new ReadBuffers(2 * repo.config.packSize + repo.config.chunker.max, pool.threads + READ_AHEAD);
  }

  async run(): Promise<PackCheckReport> {
    const plan = planPackReads(this.files, (id) => this.repo.location(id), { gap: Infinity, maxRead: Infinity, maxFiles: taskFiles(this.pool) });
    plan.missing.forEach((id, k) => this.fail(k, `chunk ${toHex(id).slice(0, 16)} is missing from the repository`));
    for (let k = 0; k < this.files.length; k++) {
      this.left[k] = plan.tasksOf[k];
      if (this.left[k] === 0 && !this.done[k]) this.finish(k); // no chunks: empty, or wrongly so
    }
    await mapLimit(plan.reads, this.pool.threads + READ_AHEAD, (span) => this.checkRead(plan.read(span)));
    return this.report;
  }

  private async checkRead(read: PackRead): Promise<void> {
    checkAborted(this.signal);
    if (!read.tasks.some((t) => t.some((b) => b.uses.some((u) => !this.done[u.file])))) return;
    const what = `pack ${read.pack.slice(0, 16)}`;
    let bytes: Uint8Array;
    try {
      bytes = await this.repo.readPack(read.pack, (size) => this.buffers.take(size));
    } catch (e) {
      if (!isMobrError(e)) throw e;
      return this.failRead(read, e.code === 'NOT_FOUND' ? `${what} is missing` : e.message);
    }
    try {
      await this.checkBytes(read, bytes);
    } finally {
      this.buffers.give(bytes); // every task on it has ended, and the chunks kept are copies
    }
  }

  private async checkBytes(read: PackRead, bytes: Uint8Array): Promise<void> {
    const what = `pack ${read.pack.slice(0, 16)}`;
    this.report.packReads++;
    const whole = read.tasks.length === 1;
    if (!whole) {
      // a pack of many small files goes out in slices: its own check is done here
      try {
        if (!checkPack(bytes, read.pack, what, this.repo.crypt).dataOk) this.damaged(read.pack, what);
      } catch (e) {
        if (!isMobrError(e)) throw e;
        return this.failRead(read, e.message);
      }
    }
    const ran = await Promise.allSettled(read.tasks.map((t) => this.checkTask(read, t, bytes, whole)));
    for (const r of ran) if (r.status === 'rejected') throw r.reason;
  }

  private async checkTask(read: PackRead, blobs: PlannedBlob[], bytes: Uint8Array, whole: boolean): Promise<void> {
    const uses = new Map<number, { blobs: number[]; ats: number[] }>();
    blobs.forEach((b, j) => {
      for (const u of b.uses) {
        if (this.done[u.file]) continue;
        let e = uses.get(u.file);
        if (!e) uses.set(u.file, (e = { blobs: [], ats: [] }));
        e.blobs.push(j);
        e.ats.push(u.at);
      }
    });
    if (uses.size === 0 && !whole) return;
    const ks = [...uses.keys()];
    const shas: Uint8Array[] = [];
    const files = ks.map((k) => {
      const e = uses.get(k)!;
      const order = e.ats.map((_, i) => i).sort((a, b) => e.ats[a] - e.ats[b]);
      e.blobs = order.map((i) => e.blobs[i]);
      e.ats = order.map((i) => e.ats[i]);
      const sha = this.files.sha256(k);
      return { blobs: e.blobs, whole: this.left[k] === 1 && !this.ordered.has(k) ? { size: this.files.size(k), sha: sha ? shas.push(sha) - 1 : undefined } : undefined };
    });
    const base = whole ? 0 : blobs[0].loc.offset;
    const end = blobs[blobs.length - 1].loc.offset + blobs[blobs.length - 1].loc.length;
    const r: PackCheckResult = await this.pool.packCheck({
      keys: this.repo.crypt?.master,
      data: whole ? sendable(bytes, 0, bytes.length) : sendable(bytes, base, end),
      pack: whole ? read.pack : undefined,
      ...blobFields(blobs, base),
      files,
      sha256s: packed(shas),
    });
    if (r.packProblem !== undefined) return this.failRead(read, r.packProblem);
    if (!r.dataOk) this.damaged(read.pack, `pack ${read.pack.slice(0, 16)}`);
    r.files.forEach((v, i) => {
      const k = ks[i];
      if (this.done[k]) return;
      if (v === null) return this.ok(k);
      if ('problem' in v) {
        return this.fail(k, v.chunk === undefined ? v.problem : `chunk ${toHex(blobs[v.chunk].id).slice(0, 16)} in pack ${read.pack.slice(0, 16)}: ${v.problem} (damaged)`);
      }
      this.feed(k, uses.get(k)!.ats, v.plain);
      if (--this.left[k] === 0) this.finish(k);
    });
  }

  /** Hashes a file's chunks in order: those at the next offset now, the others once it is there (copied: their slot is read into again). */
  private feed(k: number, ats: number[], plain: Uint8Array[]): void {
    let o = this.ordered.get(k);
    if (!o) this.ordered.set(k, (o = { sha: createHash('sha256'), next: 0, early: new Map() }));
    ats.forEach((at, i) => {
      if (at !== o.next) return void o.early.set(at, isShared(plain[i]) ? plain[i].slice() : plain[i]);
      o.sha.update(plain[i]);
      o.next += plain[i].length;
      for (let c = o.early.get(o.next); c !== undefined; c = o.early.get(o.next)) {
        o.early.delete(o.next);
        o.sha.update(c);
        o.next += c.length;
      }
    });
  }

  /** A file spread over packs (or with no chunks), all of it seen: size and SHA-256. */
  private finish(k: number): void {
    const want = { size: this.files.size(k), sha256: this.files.sha256(k) };
    const o = this.ordered.get(k) ?? { sha: createHash('sha256'), next: 0, early: new Map() };
    this.ordered.delete(k);
    const size = o.next + [...o.early.values()].reduce((s, c) => s + c.length, 0);
    if (size !== want.size || o.early.size > 0) return this.fail(k, `size ${size} differs from the recorded ${want.size}`);
    if (want.sha256 && !equalBytes(new Uint8Array(o.sha.digest()), want.sha256)) return this.fail(k, 'sha256 mismatch');
    this.ok(k);
  }

  private failRead(read: PackRead, problem: string): void {
    for (const t of read.tasks) for (const b of t) for (const u of b.uses) this.fail(u.file, problem);
  }

  private damaged(pack: string, what: string): void {
    if (!this.report.damagedPacks.some((d) => d.pack === pack)) this.report.damagedPacks.push({ pack, problem: `${what}: blob bytes do not match the header's hash (damaged)` });
  }

  private ok(k: number): void {
    this.done[k] = true;
    this.verdict(k, undefined);
  }

  private fail(k: number, problem: string): void {
    if (this.done[k]) return;
    this.done[k] = true;
    this.ordered.delete(k);
    this.verdict(k, problem);
  }
}

function packed(shas: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(shas.length * 32);
  shas.forEach((x, i) => out.set(x, i * 32));
  return out;
}
