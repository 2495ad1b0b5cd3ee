/**
 * Opening the repository a catalog record or a set of flags points at. Filesystem locations are
 * folders; S3 locations are bucket + filepath, with keys from the command line (never stored).
 */
import type { S3Credentials, Location } from '../store/location.js';
import { openStore } from '../store/open.js';
import { bestEffort } from '../util/best-effort.js';
import type { Store } from '../store/store.js';
import { Repository } from '../repo/repository.js';
import { MobrError } from '../errors.js';
import { addKey, unlockKey } from '../crypto/keyfile.js';
import { newMasterKey, type MasterKey } from '../crypto/master.js';
import { HOW_TO_GIVE, newKdf, repoPasswords } from './repo-password.js';
import type { KdfParams } from '../crypto/keyfile.js';

const CONFIG_KEY_NAME = 'config';

/** Opens an existing repository (NO_REPO if the place holds none); an encrypted one with the run's password. */
export function openRepository(loc: Location, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  return openWith(loc, creds, parallelism, (store) => Repository.open(store, { masterKey: () => unlockWithPassword(store) }));
}

/**
 * The master key of the encrypted repository at store, from the run's password (spec/cli.md
 * "Repository password"): PASSWORD_NEEDED without one, WRONG_PASSWORD when it opens no key file
 * of the repository's key set (one KDF run per such key file).
 */
async function unlockWithPassword(store: Store): Promise<MasterKey> {
  const pw = await repoPasswords().get('repo');
  if (!pw) throw new MobrError('PASSWORD_NEEDED', `${store.location} is encrypted: ${HOW_TO_GIVE}`);
  return (await unlockKey(store, pw, await Repository.keySetOf(store))).master;
}

/** `--encryption`: none, or the cipher spec/encryption.md names; undefined: encrypted when a password is at hand. */
const CIPHERS = ['aes-256-gcm'] as const;

/**
 * Whether a new repository is encrypted (`--encryption`, else whether a password is at hand); bad
 * values are exit 2. `side`: `target` for sync --reencrypt's target (its password, else the
 * repository password).
 */
export function encryptNew(encryption: string | undefined, side: 'repo' | 'target' = 'repo'): boolean {
  const passwords = repoPasswords();
  if (encryption !== undefined && encryption !== 'none' && !(CIPHERS as readonly string[]).includes(encryption)) {
    throw new MobrError('BAD_INPUT', `bad --encryption ${JSON.stringify(encryption.slice(0, 40))}: none or ${CIPHERS.join(', ')}`);
  }
  const has = passwords.has('repo') || (side === 'target' && passwords.has('target'));
  const encrypt = encryption === undefined ? has : encryption !== 'none';
  if (encrypt && !has) {
    const how = side === 'target' ? TARGET_HOW_TO_GIVE : HOW_TO_GIVE;
    throw new MobrError('BAD_INPUT', `--encryption ${encryption} needs a repository password: ${how.replace('give its password', 'give one')}`);
  }
  return encrypt;
}

/** The backup summary's note on a repository it created plain (shown once: only by the backup that created it). */
export const PLAIN_NOTE =
  'this new repository is not encrypted; to encrypt a new one, give a repository password ' +
  '(MO_BR_REPO_PASSWORD, --repo_password_file or --repo_password_command)';

/** Repositories this process created plain: the backup's summary says so once (spec/cli.md "Encryption"). */
const createdPlain = new WeakSet<Repository>();
export const wasCreatedPlain = (repo: Repository): boolean => createdPlain.has(repo);

/**
 * Opens the repository, creating it when the place holds none (backup): encrypted when
 * `encryption` names a cipher, or is not given and a repository password is at hand; then the
 * first key file is written before the config, so a repository never exists without a key.
 */
export function openOrCreateRepository(loc: Location, creds?: S3Credentials, parallelism?: number, encryption?: string): Promise<Repository> {
  const passwords = repoPasswords();
  const newKey = encryptNew(encryption) ? { password: async () => (await passwords.get('repo'))!, kdf: newKdf() } : undefined;
  return openWith(loc, creds, parallelism, (store) => createOrOpen(store, newKey, () => unlockWithPassword(store)));
}

/** How a new encrypted repository's first key file is made. */
interface NewKey {
  password: () => Promise<Uint8Array>;
  kdf: KdfParams;
}

/**
 * The repository at store, created when the place holds none: encrypted when `newKey` is given
 * (its first key file is written before the config), else plain; an existing one is opened with
 * `unlock`. Two processes may create it at once: one config wins (put if absent), and the loser's
 * key file, which wraps a master key no repository uses, is removed, whether the loser then opens
 * the winner's repository (the same password) or fails (another password: WRONG_PASSWORD). It
 * stays only when no config is there to tell (a failed put may still land: its key is needed).
 */
export async function createOrOpen(store: Store, newKey: NewKey | undefined, unlock: () => Promise<MasterKey>): Promise<Repository> {
  const fresh = newMasterKey();
  let wrote: string | undefined;
  const masterKey = async (): Promise<MasterKey> => {
    if (await store.has(CONFIG_KEY_NAME)) return unlock(); // opening (or another process created it first)
    wrote = await addKey(store, fresh, await newKey!.password(), { kdf: newKey!.kdf });
    return fresh;
  };
  try {
    const existed = await store.has(CONFIG_KEY_NAME);
    // a plain init must not see a key callback (init asks it for a key); an existing repository is opened with the password
    const repo = existed
      ? await Repository.open(store, { masterKey: unlock })
      : await Repository.openOrInit(store, {}, newKey ? { masterKey } : {});
    if (!existed && !repo.crypt) createdPlain.add(repo);
    return repo;
  } finally {
    if (wrote) await dropUnusedKeyFile(store, wrote, fresh.id);
  }
}

/** Removes key file `id` (of key set `keySet`) when the repository's config names another key set, or none. */
async function dropUnusedKeyFile(store: Store, id: string, keySet: string): Promise<void> {
  let used: string | undefined;
  try {
    used = await Repository.keySetOf(store);
  } catch {
    return; // no config to tell (or it cannot be read): keep the key, a config naming it may yet land
  }
  if (used !== keySet) await bestEffort(store.delete(`keys/${id}`), `remove the unused key file ${id.slice(0, 8)}`);
}

const TARGET_HOW_TO_GIVE =
  'give its password in MO_BR_TARGET_PASSWORD, with --target_password_file <file> or ' +
  '--target_password_command <command> (else the repository password is used)';

/** sync's target password: its own (MO_BR_TARGET_PASSWORD, --target_password_file|command), else the repository password. */
async function targetPassword(): Promise<Uint8Array | undefined> {
  const passwords = repoPasswords();
  return passwords.has('target') ? passwords.get('target') : passwords.get('repo');
}

/**
 * `sync --reencrypt`'s target (spec/sync.md §8): an encrypted one opened with the target password,
 * or, where the place holds no repository, a new one: encrypted under a new master key with that
 * password (its first key file before its config, as backup makes one) unless `--encryption none`.
 */
export function openOrCreateTarget(loc: Location, creds?: S3Credentials, encryption?: string): Promise<Repository> {
  const encrypt = encryptNew(encryption, 'target');
  const unlock = async (store: Store) => {
    const pw = await targetPassword();
    if (!pw) throw new MobrError('PASSWORD_NEEDED', `${store.location} is encrypted: ${TARGET_HOW_TO_GIVE}`);
    return (await unlockKey(store, pw, await Repository.keySetOf(store))).master;
  };
  const newKey = encrypt ? { password: async () => (await targetPassword())!, kdf: newKdf() } : undefined;
  return openWith(loc, creds, undefined, (store) => createOrOpen(store, newKey, () => unlock(store)));
}

/** Opens the store and the repository on it; a failure closes the store again. */
async function openWith(loc: Location, credentials: S3Credentials | undefined, parallelism: number | undefined, open: (s: Store) => Promise<Repository>): Promise<Repository> {
  const store = openStore(loc, { credentials, parallelism });
  try {
    return await open(store);
  } catch (e) {
    await bestEffort(async () => store.close?.(), `close ${store.location}`);
    throw e;
  }
}
