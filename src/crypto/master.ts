/**
 * A repository's master key (spec/encryption.md): random, made once by `init`, never stored in the
 * clear (key files under keys/ hold it wrapped with a password, src/crypto/keyfile.ts).
 * Three independent 32-byte secrets, so no part is derived from another: the AEAD key material for
 * sealed objects, the keyed-BLAKE3 key for chunk ids, and the seed of the secret gear table.
 * `id` names the key set: every key file of one repository (and of a repository made to share its
 * master key) carries the same id, so two repositories with equal ids can exchange sealed objects
 * as they are.
 */
import { randomBytes } from 'node:crypto';

export interface MasterKey {
  /** The key-set id: 32 lowercase hex characters (16 random bytes); not secret. */
  readonly id: string;
  /** 32 bytes: AEAD key material for sealed objects. */
  readonly data: Uint8Array;
  /** 32 bytes: the keyed-BLAKE3 key for chunk ids. */
  readonly ids: Uint8Array;
  /** 32 bytes: the seed of the secret gear table of the chunker. */
  readonly chunker: Uint8Array;
}

/** A fresh random master key (node:crypto's CSPRNG). */
export function newMasterKey(): MasterKey {
  return {
    id: randomBytes(16).toString('hex'),
    data: new Uint8Array(randomBytes(32)),
    ids: new Uint8Array(randomBytes(32)),
    chunker: new Uint8Array(randomBytes(32)),
  };
}
