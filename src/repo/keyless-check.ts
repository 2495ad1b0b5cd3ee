/**
 * Checking an encrypted repository without its key (spec/encryption.md §6): what an offsite party
 * that holds only the bucket can verify. Every pack's bytes hash to its name (an encrypted pack is
 * named by the BLAKE3 of all its bytes), every index object's too, and `config`, every manifest,
 * plan and part is a sealed object of the repository's key set. Nothing is opened: no key exists here.
 */
import { MobrError, checkAborted, isMobrError } from '../errors.js';
import { blake3, blake3Ready } from '../hash/blake3.js';
import { toHex } from '../hash/hex.js';
import type { Store } from '../store/store.js';
import { KEYLESS_READS, mapLimit } from '../util/concurrency.js';
import { packIdFromKey } from './keys.js';
import { checkSealedPack } from './pack.js';
import { sealedKeySet } from './sealed.js';
import { Repository } from './repository.js';

interface KeylessReport {
  /** The repository's key-set id (from its config). */
  keySet: string;
  packs: number;
  indexObjects: number;
  /** Manifests, plans and parts (checked for their envelope and key set only). */
  sealedObjects: number;
  bytesRead: number;
  /** Each object that fails, with what is wrong. */
  damaged: { key: string; problem: string }[];
}

/** Folders of sealed objects whose names are not their hashes: only the envelope is checked. */
const SEALED_FOLDERS = ['backups', 'plans', 'parts'];

export async function checkWithoutKey(store: Store, o: { signal?: AbortSignal; onObject?: () => void } = {}): Promise<KeylessReport> {
  await blake3Ready();
  const keySet = await Repository.keySetOf(store).catch((e) => {
    if (isMobrError(e, 'NOT_FOUND')) throw new MobrError('NO_REPO', `no mobr repository at ${store.location}`, { cause: e });
    throw e;
  });
  if (keySet === undefined) throw new MobrError('BAD_INPUT', `${store.location} is not an encrypted repository: check it without --without_key`);
  const r: KeylessReport = { keySet, packs: 0, indexObjects: 0, sealedObjects: 0, bytesRead: 0, damaged: [] };
  const each = async (prefix: string, check: (key: string, bytes: Uint8Array) => string | undefined) => {
    const keys: string[] = [];
    for await (const e of store.list(prefix)) if (!e.key.includes('.tmp-')) keys.push(e.key);
    await mapLimit(keys.sort(), KEYLESS_READS, async (key) => {
      checkAborted(o.signal);
      const bytes = await store.get(key).catch((e) => (isMobrError(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
      if (!bytes) return; // removed meanwhile (gc): not damage
      r.bytesRead += bytes.length;
      const problem = check(key, bytes);
      if (problem) r.damaged.push({ key, problem });
      o.onObject?.();
    });
  };
  await each('data', (key, bytes) => {
    const id = packIdFromKey(key);
    if (!id) return 'not a pack name';
    r.packs++;
    return checkSealedPack(bytes, id) ? undefined : 'its bytes do not match its name (damaged)';
  });
  await each('index', (key, bytes) => {
    r.indexObjects++;
    return toHex(blake3(bytes)) !== key.slice('index/'.length) ? 'its bytes do not match its name (damaged)' : ofKeySet(bytes, keySet);
  });
  for (const folder of SEALED_FOLDERS) {
    await each(folder, (_key, bytes) => {
      r.sealedObjects++;
      return ofKeySet(bytes, keySet);
    });
  }
  r.damaged.sort((a, b) => (a.key < b.key ? -1 : 1));
  return r;
}

function ofKeySet(bytes: Uint8Array, keySet: string): string | undefined {
  const k = sealedKeySet(bytes);
  if (k === undefined) return 'not a sealed object (damaged, or written by someone without the key)';
  return k === keySet ? undefined : `sealed with another key set (${k})`;
}

