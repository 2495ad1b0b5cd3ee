/**
 * Key files (spec/encryption.md "Key files"): the golden vector (fixed master key, password, salt,
 * nonce, parameters -> exact bytes and id, also checked with Python's hashlib.scrypt and
 * cryptography's AESGCM when it was written), one KDF run per key file for a wrong password,
 * the refusals of key removal, tampering, and a property round trip.
 */
import { scryptSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemStore } from '../src/store/mem.js';
import { DEFAULT_KDF, addKey, encodeKeyFile, findKeyFile, initKeys, kdfRunCount, keyFileId, keyFileIds, listKeys, openKeyFile, parseKeyFile, removeKey, unlockKey, type KdfParams } from '../src/crypto/keyfile.js';
import { newMasterKey, type MasterKey } from '../src/crypto/master.js';
import { isMobrError } from '../src/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const CHEAP: KdfParams = { name: 'scrypt', n: 16, r: 1, p: 1 };

const GOLDEN_MASTER: MasterKey = { id: '000102030405060708090a0b0c0d0e0f', data: new Uint8Array(32).fill(0x11), ids: new Uint8Array(32).fill(0x22), chunker: new Uint8Array(32).fill(0x33) };
const GOLDEN_TEXT =
  '{"v":1,"created":"2026-01-01T00:00:00.000Z","host":"backup-host","user":"dba","keySet":"000102030405060708090a0b0c0d0e0f",' +
  '"kdf":{"name":"scrypt","n":1024,"r":8,"p":1,"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},"cipher":"aes-256-gcm","nonce":"oKGio6Slpqeoqaqr",' +
  '"data":"Gi3KKRe3EKArfrfXB+5GmEDk9Dee3113o5/A9ONBDLCDqPFirvmIrgGjeTqFBuR9o7hNPiKtQQ4AE6hi/PtV+YeG1SbUz0Y2sX/TF5oqVGYXlhczkq6BgG6xlYEd5LiovGfYuVKhHosvgaPFOI4jl92QlioA1quDGWpdOxl6PpE="}';
const GOLDEN_ID = '028e57c5a336b396014a536f331ce7656dd22c854b7a9e4d6e9012fb8c192cc2';
const GOLDEN_KEK = 'b6b0e04f381ba81d73ffd3476078a3b8f335a54dc276bf28ada6c1209940842f';
const GOLDEN_PASSWORD = enc('correct horse battery staple');

describe('key files', () => {
  it('golden vector: fixed inputs give exactly these bytes and this id, and they open to the master key', async () => {
    const bytes = await encodeKeyFile(GOLDEN_MASTER, GOLDEN_PASSWORD, {
      kdf: { name: 'scrypt', n: 1024, r: 8, p: 1 },
      salt: Uint8Array.from({ length: 32 }, (_, i) => i),
      nonce: Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i),
      created: new Date('2026-01-01T00:00:00Z'),
      host: 'backup-host',
      user: 'dba',
    });
    expect(new TextDecoder().decode(bytes)).toBe(GOLDEN_TEXT);
    expect(keyFileId(bytes)).toBe(GOLDEN_ID);
    expect(scryptSync(GOLDEN_PASSWORD, Uint8Array.from({ length: 32 }, (_, i) => i), 32, { N: 1024, r: 8, p: 1 }).toString('hex')).toBe(GOLDEN_KEK);
    const m = await openKeyFile(enc(GOLDEN_TEXT), GOLDEN_PASSWORD);
    expect(m).toEqual(GOLDEN_MASTER);
    expect(await openKeyFile(enc(GOLDEN_TEXT), enc('correct horse battery stapler'))).toBeUndefined();
  });

  it('defaults: scrypt n=2^17, r=8, p=1 (128 MiB; spec/encryption.md gives the measured time)', () => {
    expect(DEFAULT_KDF).toEqual({ name: 'scrypt', n: 131072, r: 8, p: 1 });
    expect(128 * DEFAULT_KDF.n * DEFAULT_KDF.r).toBe(128 * 1024 * 1024);
  });

  it('carries no secret in the clear: neither the password nor any part of the master key', async () => {
    const master = newMasterKey();
    const pw = 'a-password-nobody-guesses';
    const text = new TextDecoder().decode(await encodeKeyFile(master, enc(pw), { kdf: CHEAP }));
    expect(text).not.toContain(pw);
    for (const part of [master.data, master.ids, master.chunker]) {
      for (const form of [Buffer.from(part).toString('hex'), Buffer.from(part).toString('base64'), Buffer.from(part.subarray(0, 12)).toString('base64')]) expect(text).not.toContain(form);
    }
    expect(Object.keys(JSON.parse(text))).toEqual(['v', 'created', 'host', 'user', 'keySet', 'kdf', 'cipher', 'nonce', 'data']);
  });

  it('a wrong password costs exactly one KDF run per key file, and the right one unlocks whichever file it opens', async () => {
    const store = new MemStore();
    const master = await initKeys(store, enc('first'), { kdf: CHEAP });
    await addKey(store, master, enc('second'), { kdf: CHEAP });
    const third = await addKey(store, master, enc('third'), { kdf: CHEAP });
    const before = kdfRunCount();
    const e = await unlockKey(store, enc('nope')).catch((x: unknown) => x);
    expect(isMobrError(e, 'WRONG_PASSWORD')).toBe(true);
    expect((e as Error).message).toBe('wrong repository password for memory: it opens none of its 3 key files');
    expect(kdfRunCount() - before).toBe(3);
    const ok = await unlockKey(store, enc('third'));
    expect(ok.keyId).toBe(third);
    expect(ok.master).toEqual(master);
    expect(kdfRunCount() - before).toBeLessThanOrEqual(6);
  });

  it('a key file of another key set is skipped without a KDF run when the key set is known', async () => {
    const store = new MemStore();
    const master = await initKeys(store, enc('pw'), { kdf: CHEAP });
    await initKeys(store, enc('pw'), { kdf: CHEAP }); // a racing init's leftover, same password
    const before = kdfRunCount();
    for (let i = 0; i < 5; i++) expect((await unlockKey(store, enc('pw'), master.id)).master).toEqual(master);
    expect(kdfRunCount() - before).toBe(5);
  });

  it('no key files: NOT_FOUND, not a wrong password; a damaged key file is skipped, not a KDF run', async () => {
    const store = new MemStore();
    expect(isMobrError(await unlockKey(store, enc('pw')).catch((x: unknown) => x), 'NOT_FOUND')).toBe(true);
    await initKeys(store, enc('pw'), { kdf: CHEAP });
    const [id] = await keyFileIds(store);
    const bytes = await store.get(`keys/${id}`);
    bytes[bytes.length - 5] ^= 1;
    await store.put(`keys/${id}`, bytes);
    const before = kdfRunCount();
    const e = await unlockKey(store, enc('pw')).catch((x: unknown) => x);
    expect((e as Error).message).toBe('wrong repository password for memory: it opens none of its 0 readable key files of 1');
    expect(kdfRunCount()).toBe(before);
    expect((await listKeys(store))[0].damaged).toMatch(/do not hash/);
  });

  it('removing the last key or the current one is refused; another key goes', async () => {
    const store = new MemStore();
    const master = await initKeys(store, enc('one'), { kdf: CHEAP });
    const [first] = await keyFileIds(store);
    await expect(removeKey(store, first, 'someone-else')).rejects.toThrow(/last key/);
    const second = await addKey(store, master, enc('two'), { kdf: CHEAP });
    await expect(removeKey(store, second, second)).rejects.toThrow(/unlocked with/);
    expect(await findKeyFile(store, second.slice(0, 6))).toBe(second);
    await removeKey(store, second, first);
    expect(await keyFileIds(store)).toEqual([first]);
  });

  it('a key file asking for more than 1 GiB of KDF memory is refused before any run', () => {
    const j = JSON.parse(GOLDEN_TEXT);
    j.kdf.n = 1 << 22;
    j.kdf.r = 8192;
    expect(() => parseKeyFile(enc(JSON.stringify(j)), 'key file x')).toThrow(/unsupported key derivation/);
  });

  it('property: any password round-trips; any flipped byte of the wrapped part or the key set fails to open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.constantFrom('data', 'nonce', 'salt', 'keySet'), async (pw, at, field) => {
        const master = newMasterKey();
        const bytes = await encodeKeyFile(master, pw, { kdf: CHEAP });
        expect(await openKeyFile(bytes, pw)).toEqual(master);
        const j = JSON.parse(new TextDecoder().decode(bytes));
        if (field === 'keySet') j.keySet = (j.keySet[0] === '0' ? '1' : '0') + j.keySet.slice(1);
        else {
          const holder = field === 'salt' ? j.kdf : j;
          const b = Buffer.from(holder[field], 'base64');
          b[at % b.length] ^= 1 << at % 8;
          holder[field] = b.toString('base64');
        }
        expect(await openKeyFile(enc(JSON.stringify(j)), pw)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });
});
