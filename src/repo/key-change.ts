/**
 * Changing an encrypted repository's key files (spec/encryption.md, spec/gc.md §2.1), each in a
 * session: `key add` in a shared one (adding races with nothing but a process that removes keys),
 * `key remove` and `key passwd` in the exclusive one, so two removals can never race the
 * repository down to no key. Every write is fenced: a process whose lock was lost (paused past its
 * staleness, or removed by `unlock --remove_all`) adds and removes nothing more.
 */
import { MobrError, isMobrError } from '../errors.js';
import { addKey, removeKey, type KeyFileOptions, type KeyObjects } from '../crypto/keyfile.js';
import type { MasterKey } from '../crypto/master.js';
import type { Store } from '../store/store.js';
import type { LockOptions } from './lock.js';
import { exclusiveSession, sharedSession } from './session.js';

export interface KeyChangeOptions extends KeyFileOptions {
  /** Ctrl-C / SIGTERM: stops the wait for the lock. */
  signal?: AbortSignal;
  /** staleMs, waitMs, clock (tests). */
  lock?: LockOptions;
}

/** `key add`: a new key file for `password`, written with a shared lock proven held. Returns its id. */
export function addKeyFile(store: Store & KeyObjects, master: MasterKey, password: Uint8Array, o: KeyChangeOptions = {}): Promise<string> {
  return sharedSession({ store }, { purpose: 'key add', signal: o.signal, lock: o.lock }, async (s) => {
    await s.assertHeld();
    return addKey(store, master, password, o);
  });
}

/** `key remove`: key file `id` goes, under the exclusive lock, proven held right before (never the last key, nor `current`). */
export function removeKeyFile(store: Store & KeyObjects, id: string, current: string, o: KeyChangeOptions = {}): Promise<void> {
  return exclusiveSession({ store }, { purpose: 'key remove', signal: o.signal, lock: o.lock }, (s) => removeKey(store, id, current, () => s.assertHeld()));
}

/**
 * `key passwd`: a key file for the new password, then the `current` one removed, under the
 * exclusive lock. Lost between the two, the old key stays (both passwords open the repository)
 * and the error says so.
 */
export function replaceKeyFile(store: Store & KeyObjects, master: MasterKey, password: Uint8Array, current: string, o: KeyChangeOptions = {}): Promise<string> {
  return exclusiveSession({ store }, { purpose: 'key passwd', signal: o.signal, lock: o.lock }, async (s) => {
    await s.assertHeld();
    const added = await addKey(store, master, password, o);
    try {
      await removeKey(store, current, added, () => s.assertHeld());
    } catch (e) {
      if (!isMobrError(e)) throw e;
      const [n, c] = [added.slice(0, 8), current.slice(0, 8)];
      const both = `key ${n} (the new password) was added, key ${c} (the old one) was not removed: both open ${store.location}`;
      throw new MobrError(e.code, `${e.message}; ${both}; \`key remove ${c}\` removes the old one`, { cause: e });
    }
    return added;
  });
}
