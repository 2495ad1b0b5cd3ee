/**
 * A backup ingested by several processes (spec/repository.md §10, spec/scale.md §2): the
 * coordinator's **plan** `plans/<backup id>` (kind 'P') names the staged files of each share; each
 * ingester writes its **part** `parts/<backup id>/<share>` (kind 'S'), the manifest entries of its
 * share, whole or not at all. The coordinator merges the parts into the manifest and then removes
 * the plan and the parts. Both objects are sealed like manifests (§3); neither is ever named by a
 * manifest, so a leftover of a killed coordinator is garbage that gc removes.
 */
import { MobrError, isMobrError } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import type { Store } from '../store/store.js';
import { assertBackupId, decodeEntry, encodeEntry, type FileEntry } from './manifest.js';
import { seal, unseal, type Sealing } from './sealed.js';
import { defaultStaleMs, isStale, listLocks } from './lock.js';
import type { Repository } from './repository.js';
import { systemClock, type Clock } from '../util/clock.js';

export const PLANS_FOLDER = 'plans';
export const PARTS_FOLDER = 'parts';
export const planKey = (id: string): string => `${PLANS_FOLDER}/${id}`;
const partsPrefix = (id: string): string => `${PARTS_FOLDER}/${id}`;
export const partKey = (id: string, share: number): string => `${partsPrefix(id)}/${share}`;

/** One staged file to read: where it is, what it must be, and the entry facts it keeps. */
export interface ShareFile {
  /** layout path (`tae/<object>`, `mo_meta`, …): the file is `staging/<backup id>/<rel>` */
  rel: string;
  /** logical size (after unframing) */
  size: number;
  /** size of the staged object (LocalFS-framed or raw) */
  stagedSize: number;
  framed: boolean;
  mtimeMs: number;
  /** the entry's `x` facts */
  meta: Record<string, string>;
  /** the server's SHA-256 (hex) the bytes must have; absent when it gave none */
  sha256?: string;
  /** what sha256 came from, for messages */
  against: string;
}

export interface BackupPlan {
  id: string;
  /** the repository config's id: a plan is only for that repository */
  repo: string;
  /** the coordinator's lock object (`locks/<id>`): gone means the coordinator is gone */
  lock: string;
  createdAt: number;
  /** shares[i]: the files of share i, in path order; share 0 is the coordinator's own */
  shares: ShareFile[][];
}

export interface BackupPart {
  id: string;
  share: number;
  /** number of shares of the plan */
  shares: number;
  /** BLAKE3-256 of the plan object's bytes this part was ingested from */
  plan: Uint8Array;
  /** manifest entries (spec/repository.md §7) of the share's files, in path order */
  files: FileEntry[];
  /** bytes of packs and index objects this ingester wrote */
  addedBytes: number;
  startedAt: number;
  completedAt: number;
}

const VERSION = 1;

export function encodePlan(p: BackupPlan, sealing?: Sealing): Uint8Array {
  const shares = p.shares.map((s) => s.map((f) => ({ p: f.rel, s: f.size, z: f.stagedSize, f: f.framed, t: f.mtimeMs, x: f.meta, h: f.sha256 === undefined ? undefined : hexBytes(f.sha256), a: f.against })));
  return seal('P', VERSION, { id: p.id, repo: p.repo, lock: p.lock, createdAt: p.createdAt, shares }, sealing);
}

export function decodePlan(data: Uint8Array, what: string, sealing?: Sealing): BackupPlan {
  const b = unseal('P', VERSION, data, what, sealing).body as Record<string, unknown>;
  const bad = (field: string) => new MobrError('CORRUPT', `${what}: malformed (${field})`);
  if (!b || typeof b !== 'object' || typeof b.id !== 'string' || typeof b.repo !== 'string' || typeof b.lock !== 'string' || !Array.isArray(b.shares) || b.shares.length === 0) throw bad('header');
  const shares = b.shares.map((s: unknown) => {
    if (!Array.isArray(s)) throw bad('share');
    return s.map((r: Record<string, unknown>): ShareFile => {
      if (!r || typeof r.p !== 'string' || !safeRel(r.p)) throw bad('file');
      if (!nat(r.s) || !nat(r.z) || typeof r.f !== 'boolean' || !nat(r.t) || typeof r.a !== 'string') throw bad(`file ${r.p}`);
      if (!stringMap(r.x) || (r.h !== undefined && !(r.h instanceof Uint8Array && r.h.length === 32))) throw bad(`file ${r.p}`);
      const f: ShareFile = { rel: r.p, size: r.s as number, stagedSize: r.z as number, framed: r.f, mtimeMs: r.t as number, meta: r.x, against: r.a };
      if (r.h instanceof Uint8Array) f.sha256 = Buffer.from(r.h).toString('hex');
      return f;
    });
  });
  return { id: b.id, repo: b.repo, lock: b.lock, createdAt: Number(b.createdAt ?? 0), shares };
}

export function encodePart(p: BackupPart, sealing?: Sealing): Uint8Array {
  const body = { id: p.id, share: p.share, shares: p.shares, plan: p.plan, files: p.files.map(encodeEntry), addedBytes: p.addedBytes, startedAt: p.startedAt, completedAt: p.completedAt };
  return seal('S', VERSION, body, sealing);
}

export function decodePart(data: Uint8Array, what: string, sealing?: Sealing): BackupPart {
  const b = unseal('S', VERSION, data, what, sealing).body as Record<string, unknown>;
  const bad = (field: string) => new MobrError('CORRUPT', `${what}: malformed (${field})`);
  if (!b || typeof b !== 'object' || typeof b.id !== 'string' || !nat(b.share) || !nat(b.shares) || (b.share as number) >= (b.shares as number) || !(b.plan instanceof Uint8Array) || b.plan.length !== 32 || !Array.isArray(b.files)) throw bad('header');
  const files = b.files.map((r: Record<string, unknown>) => decodeEntry(r, bad));
  return { id: b.id, share: b.share as number, shares: b.shares as number, plan: b.plan, files, addedBytes: Number(b.addedBytes ?? 0), startedAt: Number(b.startedAt ?? 0), completedAt: Number(b.completedAt ?? 0) };
}

/** BLAKE3-256 of a plan object's bytes: what a part names to say which plan it followed. */
export const planHash = (planBytes: Uint8Array): Uint8Array => blake3(planBytes);

/** The plan of backup id and its bytes, or undefined when there is none. */
export async function loadPlan(repo: Repository, id: string): Promise<{ plan: BackupPlan; bytes: Uint8Array } | undefined> {
  assertBackupId(id);
  const store = repo.store;
  const bytes = await store.get(planKey(id)).catch((e) => (isMobrError(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
  if (!bytes) return undefined;
  const plan = decodePlan(bytes, planKey(id), repo.sealing(planKey(id)));
  if (plan.id !== id) throw new MobrError('CORRUPT', `${planKey(id)}: names backup ${plan.id}`);
  return { plan, bytes };
}

/** Every part of backup id now stored, by share number (objects that do not name a share are ignored). */
export async function listPartKeys(store: Store, id: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for await (const e of store.list(partsPrefix(id))) {
    const m = /\/(\d{1,3})$/.exec(e.key);
    if (m && e.key === partKey(id, Number(m[1]))) out.set(Number(m[1]), e.key);
  }
  return out;
}

/** Removes the plan and every part of backup id (best effort per object; the first error is thrown after trying all). */
export async function removePlanAndParts(store: Store, id: string): Promise<void> {
  let first: unknown;
  const keys = [planKey(id)];
  for await (const e of store.list(partsPrefix(id))) keys.push(e.key);
  for (const k of keys) await store.delete(k).catch((e) => (first ??= e));
  if (first) throw first;
}

function hexBytes(s: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(s)) throw new MobrError('BAD_INPUT', `not a SHA-256: ${JSON.stringify(s.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

const nat = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function stringMap(x: unknown): x is Record<string, string> {
  return !!x && typeof x === 'object' && !(x instanceof Uint8Array) && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'string');
}

/** A relative `/`-separated path with no empty, `.` or `..` segment and no NUL. */
function safeRel(p: string): boolean {
  return p !== '' && !p.includes('\0') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The backup IDs whose plans wait in the repository (backups in shares under way, or left). */
export async function pendingPlanIds(repo: Repository): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of repo.store.list(`${PLANS_FOLDER}/`)) ids.push(e.key.slice(PLANS_FOLDER.length + 1));
  return ids;
}

/**
 * Plans whose coordinator is gone (its lock object missing, or stale by this machine's clock: a
 * report for `check`, which takes no lock) and parts without a live plan: leftovers gc removes.
 * `clock` is this machine's (the lock's age is measured against the store's mtimes).
 */
export async function leftoverShareObjects(repo: Repository, clock: Clock = systemClock): Promise<string[]> {
  const store = repo.store;
  const locks = new Map((await listLocks(store)).map((l) => [l.key, l]));
  const live = new Set<string>();
  const out: string[] = [];
  for await (const e of store.list(PLANS_FOLDER)) {
    const id = e.key.slice(PLANS_FOLDER.length + 1);
    const lockKey = await store.get(e.key).then((b) => decodePlan(b, e.key, repo.sealing(e.key)).lock, () => undefined);
    const l = lockKey === undefined ? undefined : locks.get(lockKey);
    if (l && !isStale(l, clock.now(), defaultStaleMs())) live.add(id);
    else out.push(e.key);
  }
  for await (const e of store.list(PARTS_FOLDER)) if (!live.has(e.key.split('/')[1]!)) out.push(e.key);
  return out.sort();
}
