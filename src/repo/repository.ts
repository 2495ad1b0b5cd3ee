/**
 * A repository: config + packs + index objects + manifests on a Store (spec/repository.md).
 * Opening loads every index object into a ChunkIndex; a damaged index object is skipped and
 * remembered (its packs are still readable after `check --repair`, src/repo/repair.ts).
 * An encrypted repository (spec/encryption.md) is opened with its master key: `crypt` then seals
 * and opens every object but key files and locks.
 */
import { MobrError, isMobrError } from '../errors.js';
import { blake3, blake3Ready } from '../hash/blake3.js';
import { toHex } from '../hash/hex.js';
import { decoderReady } from '../chunk/codec.js';
import { Crypt, OpenError } from '../crypto/crypt.js';
import type { MasterKey } from '../crypto/master.js';
import { chunkIdOf, openChunk } from '../crypto/blob.js';
import { sealedKeySet, type Sealing } from './sealed.js';
import type { CallOptions, Store } from '../store/store.js';
import { decodeConfig, encodeConfig, newConfig, type RepoConfig, type RepoOptions } from './config.js';
import { ChunkIndex, encodeIndex, loadIndexInto, type ChunkLocation, type PackRecord } from './index-file.js';
import { assertBackupId, chunkCount, chunkId, decodeManifest, encodeManifest, type FileEntry, type Manifest } from './manifest.js';
import { CONFIG_KEY, indexKey, manifestKey, packIdFromKey, packKey } from './keys.js';
import type { ChunkLists } from './file-table.js';
import { checkPack, decodePackHeader, parseTrailer, TRAILER } from './pack.js';
import { mapLimit, SMALL_READS } from '../util/concurrency.js';

/**
 * How an encrypted repository is opened: its master key, or a callback that yields it (called only
 * when the repository is encrypted; keys/ unlocks it, src/crypto/keyfile.ts). A plain repository
 * ignores it.
 */
export interface RepoKeys {
  masterKey?: MasterKey | (() => Promise<MasterKey>);
}

export class Repository {
  #index: ChunkIndex;
  /** Where each known chunk is, from the loaded index objects (refreshIndex starts it afresh). */
  get index(): ChunkIndex {
    return this.#index;
  }
  /** Index objects loaded into `index`. */
  readonly loadedIndexes = new Set<string>();
  /** Index objects that failed to load: key -> reason. */
  readonly damagedIndexes = new Map<string, string>();
  /** Packs the last dropUnsoundPacks forgot (missing or of the wrong size). */
  unsoundPacks: { pack: string; problem: string }[] = [];
  /** dropUnsoundPacks ran since the index was last loaded. */
  packsListed = false;

  private constructor(
    readonly store: Store,
    readonly config: RepoConfig,
    /** The sealing of an encrypted repository (spec/encryption.md); undefined for a plain one. */
    readonly crypt?: Crypt,
  ) {
    this.#index = new ChunkIndex({ sealed: !!crypt });
  }

  /** Makes a repository at store: encrypted under `keys.masterKey` when one is given (key files are the caller's, src/crypto/keyfile.ts). */
  static async init(store: Store, options: RepoOptions = {}, keys: RepoKeys = {}): Promise<Repository> {
    await ready();
    const master = typeof keys.masterKey === 'function' ? await keys.masterKey() : keys.masterKey;
    const crypt = master ? await Crypt.create(master) : undefined;
    const config = newConfig(options, !!crypt);
    await store.put(CONFIG_KEY, encodeConfig(config, crypt && { crypt, name: CONFIG_KEY }), { ifNoneMatch: true });
    return new Repository(store, config, crypt);
  }

  static async open(store: Store, keys: RepoKeys = {}): Promise<Repository> {
    await ready();
    let data: Uint8Array;
    try {
      data = await store.get(CONFIG_KEY);
    } catch (e) {
      if (isMobrError(e, 'NOT_FOUND')) throw new MobrError('NO_REPO', `no mobr repository at ${store.location}`, { cause: e });
      throw e;
    }
    const crypt = await unlock(store, data, keys);
    const repo = new Repository(store, decodeConfig(data, `config of ${store.location}`, crypt && { crypt, name: CONFIG_KEY }), crypt);
    await repo.loadIndex();
    return repo;
  }

  /** The key-set id of the repository at store when it is encrypted, else undefined (reads only `config`, needs no key). */
  static async keySetOf(store: Store): Promise<string | undefined> {
    return sealedKeySet(await store.get(CONFIG_KEY));
  }

  /** The sealing of object `name` here (undefined in a plain repository). */
  sealing(name: string): Sealing | undefined {
    return this.crypt && { crypt: this.crypt, name };
  }

  /** A plain chunk's id here: keyed BLAKE3 in an encrypted repository, else BLAKE3-256. */
  chunkId(plain: Uint8Array): Uint8Array {
    return chunkIdOf(this.crypt, plain);
  }

  /**
   * Opens the repository at store, creating it when the location holds none: only an empty
   * folder or prefix is made a repository, never one that holds other files (they would be taken
   * for damage, and gc and check --repair would remove them).
   */
  static async openOrInit(store: Store, options: RepoOptions = {}, keys: RepoKeys = {}): Promise<Repository> {
    if (!(await store.has(CONFIG_KEY))) {
      await refuseForeign(store);
      try {
        return await Repository.init(store, options, keys);
      } catch (e) {
        if (!isMobrError(e, 'REPO_EXISTS')) throw e; // another process created it first
      }
    }
    return Repository.open(store, keys);
  }

  /** (Re)loads every index object (`listed`: the keys of `index/` just listed, spared a second LIST). */
  async loadIndex(listed?: string[]): Promise<void> {
    for (let pass = 0; pass < 3; pass++) {
      const keys: string[] = pass === 0 && listed ? listed : [];
      if (keys !== listed) for await (const e of this.store.list('index')) keys.push(e.key);
      let vanished = false;
      await mapLimit(keys, SMALL_READS, async (key) => {
        if (this.loadedIndexes.has(key)) return;
        try {
          loadIndexInto(this.index, await this.store.get(key), key, this.crypt);
          this.loadedIndexes.add(key);
        } catch (e) {
          if (isMobrError(e, 'NOT_FOUND')) return void (vanished = true); // compacted meanwhile: its replacement was written first (spec/gc.md §2.4)
          if (!isMobrError(e)) throw e;
          this.damagedIndexes.set(key, e.message);
        }
      });
      if (!vanished) break;
    }
    this.index.compact();
  }

  /** Drops what it knew and loads the index afresh (after a gc may have removed objects). */
  async refreshIndex(): Promise<void> {
    this.#index = new ChunkIndex({ sealed: !!this.crypt });
    this.loadedIndexes.clear();
    this.damagedIndexes.clear();
    this.packsListed = false;
    await this.loadIndex();
  }

  /**
   * A reader's index check under its lock (spec/gc.md §2.4), one LIST of `index/`: index objects
   * written since are loaded; if one it loaded is gone (a gc compacted it, after writing its
   * replacement, and may have deleted or repacked its packs), the index is loaded afresh. gc
   * deletes no pack whose index object it keeps, so no listing of `data/` is needed; a pack gone
   * for another reason fails its read (NOT_FOUND, naming it).
   */
  async syncIndex(): Promise<void> {
    const keys: string[] = [];
    for await (const e of this.store.list('index')) keys.push(e.key);
    const listed = new Set(keys);
    for (const k of this.loadedIndexes) if (!listed.has(k)) return this.refreshIndex();
    await this.loadIndex(keys);
  }

  /**
   * Before a backup or sync dedups against the index (spec/reliability.md §2.2): one listing of
   * `data/` (after the index was loaded, so every pack an index object names was written before
   * it), and every indexed pack that is missing or whose size is not the one its record implies is
   * forgotten, so its chunks are stored again. Returns those packs and what is wrong with them.
   */
  async dropUnsoundPacks(): Promise<{ pack: string; problem: string }[]> {
    const sizes = new Map<string, number>();
    for await (const e of this.store.list('data')) {
      const id = packIdFromKey(e.key);
      if (id) sizes.set(id, e.size);
    }
    const unsound: { pack: string; problem: string }[] = [];
    for (const [id, want] of this.index.packSizes) {
      const size = sizes.get(id);
      if (size === undefined) unsound.push({ pack: id, problem: 'missing' });
      else if (size !== want) unsound.push({ pack: id, problem: `${size} bytes, its index record says ${want}` });
    }
    if (unsound.length > 0) this.index.dropPacks(new Set(unsound.map((u) => u.pack)));
    this.unsoundPacks = unsound;
    this.packsListed = true;
    return unsound;
  }

  /** Writes an index object for packs already stored; returns its key. */
  async writeIndex(packs: PackRecord[], o?: CallOptions): Promise<string> {
    const data = encodeIndex(packs, this.crypt);
    const key = indexKey(toHex(blake3(data)));
    await this.store.put(key, data, o);
    for (const p of packs) this.index.addPack(p);
    this.loadedIndexes.add(key);
    return key;
  }

  async listBackupIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const e of this.store.list('backups')) ids.push(e.key.slice('backups/'.length));
    return ids.sort();
  }

  async hasBackup(id: string): Promise<boolean> {
    assertBackupId(id);
    return this.store.has(manifestKey(id));
  }

  async loadManifest(id: string): Promise<Manifest> {
    assertBackupId(id);
    let data: Uint8Array;
    try {
      data = await this.store.get(manifestKey(id));
    } catch (e) {
      if (isMobrError(e, 'NOT_FOUND')) throw new MobrError('ENOENT_BACKUP', `no backup ${id} in ${this.store.location}`, { cause: e });
      throw e;
    }
    const m = decodeManifest(data, `manifest of backup ${id}`, this.sealing(manifestKey(id)));
    if (m.id !== id) throw new MobrError('CORRUPT_MANIFEST', `manifest of backup ${id}: names backup ${m.id}`);
    return m;
  }

  /** Writes a manifest; never replaces an existing one. The last write of a backup. */
  async saveManifest(m: Manifest): Promise<void> {
    assertBackupId(m.id);
    await this.store.put(manifestKey(m.id), encodeManifest(m, this.sealing(manifestKey(m.id))), { ifNoneMatch: true });
  }

  async deleteManifest(id: string): Promise<void> {
    assertBackupId(id);
    await this.store.delete(manifestKey(id));
  }

  /** indexesAll for row k of a table of entries (src/repo/file-table.ts). */
  indexesRow(t: ChunkLists, k: number): boolean {
    const n = t.chunkCount(k);
    for (let i = 0; i < n; i++) if (!this.index.has(toHex(t.chunkId(k, i)))) return false;
    return true;
  }

  /** True when every chunk of a file entry is in the loaded index. */
  indexesAll(f: FileEntry): boolean {
    const n = chunkCount(f);
    for (let i = 0; i < n; i++) if (!this.index.has(toHex(chunkId(f, i)))) return false;
    return true;
  }

  location(id: Uint8Array | string): ChunkLocation | undefined {
    return typeof id === 'string' ? this.index.get(id) : this.index.getId(id);
  }

  /** How many packs in the store no loaded index object names (`check --repair` would find them). */
  async countUnindexedPacks(): Promise<number> {
    let n = 0;
    for await (const e of this.store.list('data')) {
      const id = packIdFromKey(e.key);
      if (id && !this.index.packSizes.has(id)) n++;
    }
    return n;
  }

  /** Whether pack `packId` is in the store. */
  hasPack(packId: string): Promise<boolean> {
    return this.store.has(packKey(packId));
  }

  /** A whole pack's stored bytes (unchecked: see verifyPack and checkPack); read into `into(size)` where the store can (GetOptions). */
  readPack(packId: string, into?: (size: number) => Uint8Array | undefined): Promise<Uint8Array> {
    return this.store.get(packKey(packId), { into });
  }

  /** The longest ranged pack read worth making where the store has one (Store.rangeSize: a local folder's few MiB). */
  get packRangeSize(): number | undefined {
    return this.store.rangeSize;
  }

  /** `length` stored bytes of pack `packId` from `offset` (read into `into` where the store can: RangeOptions). */
  readPackRange(packId: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return this.store.getRange(packKey(packId), offset, length, into && { into });
  }

  /** Reads one chunk's plain bytes, verifying its hash (and, encrypted, opening its box). */
  async readChunk(id: Uint8Array): Promise<Uint8Array> {
    const hex = toHex(id);
    const loc = this.index.get(hex);
    if (!loc) throw new MobrError('NOT_FOUND', `chunk ${hex.slice(0, 16)} is in no index`);
    const stored = await this.readPackRange(loc.pack, loc.offset, loc.length);
    await decoderReady([loc.codec]);
    return this.openChunk(id, stored, loc.codec, loc.rawLength, `chunk ${hex.slice(0, 16)} in pack ${loc.pack.slice(0, 16)}`);
  }

  /** A stored blob's plain chunk, checked against its id; throws CORRUPT_PACK naming `what` (decoderReady() first). */
  openChunk(id: Uint8Array, stored: Uint8Array, codec: number, rawLength: number, what: string): Uint8Array {
    try {
      return openChunk(this.crypt, id, stored, codec, rawLength);
    } catch (e) {
      const reason = e instanceof OpenError || (e as Error).message === 'hash mismatch' ? `${(e as Error).message} (damaged)` : (e as Error).message;
      throw new MobrError('CORRUPT_PACK', `${what}: ${reason}`);
    }
  }

  /** Reads and checks a pack's header (its name is the header's hash). */
  async readPackHeader(packId: string): Promise<PackRecord> {
    const key = packKey(packId);
    const st = await this.store.stat(key);
    if (!st) throw new MobrError('NOT_FOUND', `pack ${packId.slice(0, 16)} is missing`);
    if (st.size < TRAILER) throw new MobrError('CORRUPT_PACK', `pack ${packId.slice(0, 16)}: truncated`);
    const hlen = parseTrailer(await this.store.getRange(key, st.size - TRAILER, TRAILER), `pack ${packId.slice(0, 16)}`, !!this.crypt);
    if (hlen > st.size - TRAILER) throw new MobrError('CORRUPT_PACK', `pack ${packId.slice(0, 16)}: bad header length`);
    const header = await this.store.getRange(key, st.size - TRAILER - hlen, hlen);
    return { id: packId, blobs: decodePackHeader(header, packId, st.size - TRAILER - hlen, `pack ${packId.slice(0, 16)}`, this.crypt) };
  }

  /**
   * Reads a whole pack and checks every byte of it: a damaged header throws CORRUPT_PACK;
   * `dataOk` is false when a blob byte differs from what the header's hash says.
   */
  async verifyPack(packId: string): Promise<PackRecord & { dataOk: boolean }> {
    const what = `pack ${packId.slice(0, 16)}`;
    let bytes: Uint8Array;
    try {
      bytes = await this.readPack(packId);
    } catch (e) {
      if (isMobrError(e, 'NOT_FOUND')) throw new MobrError('NOT_FOUND', `${what} is missing`, { cause: e });
      throw e;
    }
    return { id: packId, ...checkPack(bytes, packId, what, this.crypt) };
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }
}

/**
 * The Crypt of the repository whose config is `data`: undefined for a plain one; for an encrypted
 * one the master key the caller gives (or yields), or one line (AUTH_FAILED, exit 4) saying how to
 * give it.
 */
async function unlock(store: Store, data: Uint8Array, keys: RepoKeys): Promise<Crypt | undefined> {
  const keySet = sealedKeySet(data);
  if (keySet === undefined) return undefined;
  if (!keys.masterKey) {
    const how = 'MO_BR_REPO_PASSWORD, --repo_password_file or --repo_password_command';
    throw new MobrError('AUTH_FAILED', `${store.location} is an encrypted repository: give its password (${how})`);
  }
  const master = typeof keys.masterKey === 'function' ? await keys.masterKey() : keys.masterKey;
  if (master.id !== keySet) throw new MobrError('AUTH_FAILED', `${store.location}: that key is not this repository's (its key set is ${keySet})`);
  return Crypt.create(master);
}

let readyP: Promise<unknown> | undefined;
function ready(): Promise<unknown> {
  readyP ??= blake3Ready(); // zstd (decoderReady) only where chunks are decoded here: its WASM heap costs memory
  return readyP;
}


/** Refuses a location that holds no repository config but holds something else (unless a config appeared meanwhile: another process creating it). */
async function refuseForeign(store: Store): Promise<void> {
  for await (const e of store.list('')) {
    if (e.key.startsWith('keys/')) continue; // a key file written just before a config that never came (a crash): not foreign
    if (await store.has(CONFIG_KEY)) return;
    throw new MobrError('BAD_INPUT', `${store.location} is not empty and holds no mobr repository (it has ${JSON.stringify(e.key.slice(0, 80))}); give an empty folder or prefix, or a repository`);
  }
}
