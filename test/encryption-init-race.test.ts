/**
 * Two processes creating the same encrypted repository at once (#23): each writes its key file
 * before its config, one config wins (put if absent), and the loser must not leave its key file
 * (a master key no repository uses) behind, whether it then opens the winner's repository or
 * fails on it. A barrier holds both configs back until both key files are written, so the race
 * happens every run (the test checks that it did: two key files were put).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOrOpen } from '../src/cli/stores.js';
import { keyFileIds, unlockKey, type KdfParams } from '../src/crypto/keyfile.js';
import { Repository } from '../src/repo/repository.js';
import { StoreDecorator } from '../src/store/decorator.js';
import { FsStore } from '../src/store/fs.js';
import type { PutOptions } from '../src/store/store.js';
import { isMobrError } from '../src/errors.js';

const KDF: KdfParams = { name: 'scrypt', n: 16, r: 1, p: 1 };
const enc = (s: string) => new TextEncoder().encode(s);

const until = async (done: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await done()); i++) await new Promise((r) => setTimeout(r, 5));
};

/**
 * One process's view of the folder: its config put waits until `race.want` key files were put by
 * anyone; with `loses`, also until another config is there (so this one loses).
 */
class Barrier extends StoreDecorator<FsStore> {
  constructor(
    dir: string,
    private readonly race: { keyPuts: number; want: number },
    private readonly loses = false,
  ) {
    super(new FsStore(dir));
  }

  override async put(key: string, data: Uint8Array, o?: PutOptions): Promise<void> {
    if (key === 'config') await until(() => this.race.keyPuts >= this.race.want);
    if (key === 'config' && this.loses) await until(() => this.inner.has('config'));
    await this.inner.put(key, data, o);
    if (key.startsWith('keys/')) this.race.keyPuts++;
  }
}

/** Two creators at once on one new folder; `passwords[i]` undefined: that one creates a plain repository. */
async function race(passwords: (string | undefined)[], loser?: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mobr-init-race-'));
  const state = { keyPuts: 0, want: passwords.filter((p) => p !== undefined).length };
  const results = await Promise.allSettled(
    passwords.map((pw, i) => {
      const store = new Barrier(dir, state, i === loser);
      const newKey = pw === undefined ? undefined : { password: async () => enc(pw), kdf: KDF };
      return createOrOpen(store, newKey, async () => (await unlockKey(store, enc(pw ?? 'none'), await Repository.keySetOf(store))).master);
    }),
  );
  return { dir, state, results, keys: await keyFileIds(new FsStore(dir)) };
}

describe('two processes creating one encrypted repository', () => {
  it('other passwords: the loser fails WRONG_PASSWORD and removes its key file; the winner\'s opens', async () => {
    const { dir, state, results, keys } = await race(['pw-a', 'pw-b']);
    expect(state.keyPuts).toBe(2); // the race happened: both wrote a key file before a config
    const won = results.findIndex((r) => r.status === 'fulfilled');
    const lost = results[1 - won];
    expect(won).toBeGreaterThanOrEqual(0);
    expect(lost.status === 'rejected' && isMobrError(lost.reason, 'WRONG_PASSWORD')).toBe(true);
    expect(keys).toHaveLength(1);
    const winner = (results[won] as PromiseFulfilledResult<Repository>).value;
    const { master } = await unlockKey(new FsStore(dir), enc(won === 0 ? 'pw-a' : 'pw-b'));
    expect(master.id).toBe(winner.crypt!.keySet);
  });

  it('the same password: both open the winner\'s repository, one key file is left', async () => {
    const { state, results, keys } = await race(['same-pw', 'same-pw']);
    expect(state.keyPuts).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const sets = results.map((r) => (r as PromiseFulfilledResult<Repository>).value.crypt!.keySet);
    expect(sets[0]).toBe(sets[1]);
    expect(keys).toHaveLength(1);
  });

  it('a plain creator wins: the encrypted one opens the plain repository and leaves no key file', async () => {
    const { state, results, keys } = await race([undefined, 'pw-c'], 1);
    expect(state.keyPuts).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(results.map((r) => (r as PromiseFulfilledResult<Repository>).value.crypt)).toEqual([undefined, undefined]);
    expect(keys).toEqual([]);
  });
});
