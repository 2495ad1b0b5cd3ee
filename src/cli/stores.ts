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

/** Whether a new repository is encrypted (`--encryption`, else whether a password is at hand); bad values are exit 2. */
export function encryptNew(encryption: string | undefined): boolean {
  const passwords = repoPasswords();
  if (encryption !== undefined && encryption !== 'none' && !(CIPHERS as readonly string[]).includes(encryption)) {
    throw new MobrError('BAD_INPUT', `bad --encryption ${JSON.stringify(encryption.slice(0, 40))}: none or ${CIPHERS.join(', ')}`);
  }
  const encrypt = encryption === undefined ? passwords.has('repo') : encryption !== 'none';
  if (encrypt && !passwords.has('repo')) {
    throw new MobrError('BAD_INPUT', `--encryption ${encryption} needs a repository password: ${HOW_TO_GIVE.replace('give its password', 'give one')}`);
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
  const encrypt = encryptNew(encryption);
  return openWith(loc, creds, parallelism, async (store) => {
    const fresh = newMasterKey();
    let wrote: string | undefined;
    const masterKey = async (): Promise<MasterKey> => {
      if (await store.has(CONFIG_KEY_NAME)) return unlockWithPassword(store); // opening (or another process created it first)
      wrote = await addKey(store, fresh, (await passwords.get('repo'))!, { kdf: newKdf() });
      return fresh;
    };
    const existed = await store.has(CONFIG_KEY_NAME);
    // a plain init must not see a key callback (init asks it for a key); an existing repository is opened with the password
    const repo = existed
      ? await Repository.open(store, { masterKey: () => unlockWithPassword(store) })
      : await Repository.openOrInit(store, {}, encrypt ? { masterKey } : {});
    if (wrote && repo.crypt?.keySet !== fresh.id) await bestEffort(store.delete(`keys/${wrote}`), `remove the unused key file ${wrote.slice(0, 8)}`);
    if (!existed && !repo.crypt) createdPlain.add(repo);
    return repo;
  });
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
