/**
 * The plan and parts of a backup in shares (src/repo/parts.ts, spec/repository.md §10), read and
 * written through a write session (src/repo/session.ts): the coordinator stores its plan and
 * collects the parts; an ingester finds its plan and stores its part, fenced by its lock.
 */
import { MobrError, isMobrError } from '../errors.js';
import { equalBytes } from '../util/bytes.js';
import { toHex } from '../hash/hex.js';
import { defaultStaleMs, isStale, listLocks } from './lock.js';
import {
  decodePart, encodePart, encodePlan, listPartKeys, loadPlan, partKey, planHash, planKey, removePlanAndParts, type BackupPart, type BackupPlan,
} from './parts.js';
import type { Repository } from './repository.js';
import type { WriteSession } from './session.js';

/** Stores the coordinator's plan (never over another); returns the hash its parts must name. */
export async function storePlan(s: WriteSession, plan: BackupPlan): Promise<Uint8Array> {
  const bytes = encodePlan(plan, s.repo.sealing(planKey(plan.id)));
  await s.store.put(planKey(plan.id), bytes, { ifNoneMatch: true });
  return planHash(bytes);
}

/** The parts stored since `got` was filled, each checked against the plan; shares in `got` (and 0) are skipped. */
export async function newParts(s: WriteSession, plan: BackupPlan, hash: Uint8Array, got: ReadonlyMap<number, BackupPart>): Promise<BackupPart[]> {
  const out: BackupPart[] = [];
  for (const [share, key] of await listPartKeys(s.store, plan.id)) {
    if (share === 0 || share >= plan.shares.length || got.has(share)) continue;
    out.push(checkPart(decodePart(await s.store.get(key), key, s.repo.sealing(key)), plan, share, hash));
  }
  return out;
}

/** A part must follow this plan and hold exactly its share's files, with the sizes and checksums planned. */
function checkPart(part: BackupPart, plan: BackupPlan, share: number, hash: Uint8Array): BackupPart {
  const key = partKey(plan.id, share);
  if (part.id !== plan.id || part.share !== share || part.shares !== plan.shares.length || !equalBytes(part.plan, hash)) {
    throw new MobrError('CORRUPT', `${key}: written for another plan of backup ${part.id} (share ${part.share} of ${part.shares})`);
  }
  const want = plan.shares[share]!;
  const differs = (f: BackupPart['files'][number], w: BackupPlan['shares'][number][number]) =>
    f.path !== w.rel || f.kind !== 'file' || f.size !== w.size || (w.sha256 !== undefined && toHex(f.sha256!) !== w.sha256);
  const bad = part.files.length !== want.length || part.files.some((f, i) => differs(f, want[i]!));
  if (bad) throw new MobrError('CORRUPT', `${key}: its files are not the ${want.length} files of share ${share} in the plan`);
  return part;
}

/** The plan of backup id and the hash its parts name, or undefined when there is none. */
export async function planOf(s: WriteSession, id: string): Promise<{ plan: BackupPlan; hash: Uint8Array } | undefined> {
  const loaded = await loadPlan(s.repo, id);
  if (loaded && loaded.plan.repo !== s.repo.config.id) throw new MobrError('CORRUPT', `${planKey(id)}: made for another repository (${loaded.plan.repo})`);
  return loaded && { plan: loaded.plan, hash: planHash(loaded.bytes) };
}

/** Whether share `share` of backup id has its part stored. */
export function partStored(s: WriteSession, id: string, share: number): Promise<boolean> {
  return s.store.has(partKey(id, share));
}

/**
 * Stores an ingester's part, fenced as a manifest is: the lock is still ours and the
 * coordinator's is live (else nobody would read the part); never over another part.
 */
export async function storePart(s: WriteSession, plan: BackupPlan, part: BackupPart): Promise<void> {
  await s.assertHeld();
  await assertCoordinatorAlive(s, plan);
  const exists = (e: unknown) => Promise.reject(isMobrError(e, 'REPO_EXISTS') ? partAlreadyStored(part.id, part.share) : e);
  const key = partKey(part.id, part.share);
  await s.store.put(key, encodePart(part, s.repo.sealing(key)), { ifNoneMatch: true }).catch(exists);
}

export const partAlreadyStored = (id: string, share: number): MobrError => new MobrError('BAD_INPUT', `share ${share} of backup ${id} is already stored`);

/** The coordinator's lock object must still be there and live: else nobody will read our part. */
export async function assertCoordinatorAlive(s: WriteSession, plan: BackupPlan): Promise<void> {
  const l = (await listLocks(s.store)).find((x) => x.key === plan.lock);
  if (!l || isStale(l, s.storeNow, defaultStaleMs())) {
    const why = `its lock ${plan.lock} is ${l ? 'stale' : 'gone'}`;
    throw new MobrError('NOT_FOUND', `the coordinator of backup ${plan.id} is gone (${why}); nothing to join, run the whole backup again`);
  }
}

/** Removes the plan and every part of backup id (after its manifest, or when it failed); unfenced: cleanup. */
export function removeShareObjects(repo: Repository, id: string): Promise<void> {
  return removePlanAndParts(repo.store, id);
}
