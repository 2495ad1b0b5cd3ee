/**
 * Tampering with an encrypted repository (spec/encryption.md §3): any flipped, cut, swapped or
 * replayed byte of any sealed object is detected and the object named; a blob moved to another
 * chunk's place, or copied from a repository with another key, does not open; a flipped blob byte
 * makes `check` name the damaged file. And the grep test: no object holds a known file's bytes, its
 * SHA-256, its unkeyed BLAKE3 (or its chunks'), or its path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { decodeConfig } from '../src/repo/config.js';
import { decodeIndex } from '../src/repo/index-file.js';
import { decodeManifest } from '../src/repo/manifest.js';
import { checkPack } from '../src/repo/pack.js';
import { isMobrError } from '../src/errors.js';
import { blake3 } from '../src/hash/blake3.js';
import { FastCDC } from '../src/chunk/fastcdc.js';
import { createScanner } from '../src/chunk/scanner.js';
import { openChunk } from '../src/crypto/blob.js';
import type { MasterKey } from '../src/crypto/master.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';

const KEY_A: MasterKey = { id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', data: new Uint8Array(32).fill(0x11), ids: new Uint8Array(32).fill(0x12), chunker: new Uint8Array(32).fill(0x13) };
const KEY_B: MasterKey = { id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', data: new Uint8Array(32).fill(0x21), ids: new Uint8Array(32).fill(0x22), chunker: new Uint8Array(32).fill(0x23) };
const CHUNKER = { min: 1024, avg: 4096, max: 16384 };
const SMALL = { chunker: CHUNKER, packSize: 64 * 1024, compression: 'none' as const };

const KNOWN_PATH = 'secret-dir/known-file.dat';
const SECRET_TEXT = 'TOP SECRET MATRIXONE ROW 42;';
const known = Buffer.concat([Buffer.from(pseudoRandom(99, 60_000)), Buffer.from(SECRET_TEXT.repeat(400)), Buffer.from(pseudoRandom(98, 30_000))]);

let pool: WorkerPool;
let work: string;
let repoA: Repository;
let repoB: Repository;
/** Every object of repository A: key -> bytes. */
let objects: Map<string, Uint8Array>;

async function makeRepo(dir: string, key: MasterKey | undefined, src: string): Promise<Repository> {
  const repo = await Repository.init(new FsStore(dir), SMALL, { masterKey: key });
  await backupTree(repo, src, { id: 'b1', pool });
  await fsp.writeFile(path.join(src, 'later.txt'), 'a second backup');
  await backupTree(repo, src, { id: 'b2', pool });
  await fsp.rm(path.join(src, 'later.txt'));
  return repo;
}

async function allObjects(root: string, rel = ''): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await allObjects(root, r)) out.set(k, v);
    else out.set(r, new Uint8Array(await fsp.readFile(path.join(root, r))));
  }
  return out;
}

beforeAll(async () => {
  pool = new WorkerPool(2);
  work = await tempDir('mobr-tamper-');
  const src = path.join(work, 'src');
  await fsp.mkdir(path.join(src, 'secret-dir'), { recursive: true });
  await fsp.writeFile(path.join(src, KNOWN_PATH), known);
  await fsp.writeFile(path.join(src, 'other.bin'), pseudoRandom(5, 40_000));
  repoA = await makeRepo(path.join(work, 'a'), KEY_A, src);
  repoB = await makeRepo(path.join(work, 'b'), KEY_B, src);
  objects = await allObjects(path.join(work, 'a'));
}, 60_000);
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

/** How `key`'s bytes read in repository A: undefined when sound, else the error (a MobrError's message). */
function readAs(key: string, bytes: Uint8Array): string | undefined {
  const crypt = repoA.crypt!;
  try {
    if (key === 'config') decodeConfig(bytes, 'config of A', repoA.sealing('config'));
    else if (key.startsWith('index/')) decodeIndex(bytes, key, crypt);
    else if (key.startsWith('backups/')) decodeManifest(bytes, `manifest of backup ${key.slice(8)}`, repoA.sealing(key));
    else if (key.startsWith('data/')) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      if (!checkPack(bytes, id, `pack ${id.slice(0, 16)}`, crypt).dataOk) return `pack ${id.slice(0, 16)}: does not match its name`;
    } else throw new Error(`unknown object ${key}`);
    return undefined;
  } catch (e) {
    if (!isMobrError(e)) throw e;
    return e.message;
  }
}

/** The name an error about object `key` must carry. */
function named(key: string): string {
  if (key === 'config') return 'config of A';
  if (key.startsWith('backups/')) return `manifest of backup ${key.slice(8)}`;
  if (key.startsWith('data/')) return `pack ${key.slice(key.lastIndexOf('/') + 1, key.lastIndexOf('/') + 17)}`;
  return key;
}

describe('encrypted repository: tampering is detected and named', () => {
  it('every object reads as sound as it is (the oracle accepts the untouched repository)', () => {
    expect([...objects.keys()].filter((k) => k.startsWith('data/')).length).toBeGreaterThan(1);
    expect([...objects.keys()].filter((k) => k.startsWith('backups/')).length).toBe(2);
    for (const [k, v] of objects) expect(readAs(k, v), k).toBeUndefined();
  });

  it('any flipped byte of any object', () => {
    const keys = [...objects.keys()];
    fc.assert(
      fc.property(fc.nat(keys.length - 1), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 255 }), (i, at, xor) => {
        const bytes = objects.get(keys[i])!.slice();
        const pos = Math.floor(at * bytes.length);
        bytes[pos] ^= xor;
        expect(readAs(keys[i], bytes), `${keys[i]} byte ${pos}`).toContain(named(keys[i]));
      }),
      { numRuns: 300 },
    );
  });

  it('any cut (truncated) or extended object', () => {
    const keys = [...objects.keys()];
    fc.assert(
      fc.property(fc.nat(keys.length - 1), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.boolean(), (i, at, extend) => {
        const full = objects.get(keys[i])!;
        const bytes = extend ? Buffer.concat([full, Buffer.from([0])]) : full.subarray(0, Math.floor(at * full.length));
        expect(readAs(keys[i], bytes), keys[i]).toContain(named(keys[i]));
      }),
      { numRuns: 150 },
    );
  });

  it('an object swapped with another of its kind, or replayed from a repository with another key', async () => {
    const kinds = ['backups/', 'index/', 'data/'];
    for (const kind of kinds) {
      const same = [...objects.keys()].filter((k) => k.startsWith(kind));
      expect(same.length, kind).toBeGreaterThan(1);
      expect(readAs(same[0], objects.get(same[1])!), `${same[1]} under ${same[0]}`).toContain(named(same[0]));
    }
    const b = await allObjects(path.join(work, 'b'));
    for (const key of ['config', 'backups/b1']) expect(readAs(key, b.get(key)!), key).toMatch(/sealed with another key \(key set b{32}\)/);
    for (const kind of ['index/', 'data/']) {
      const theirs = [...b.keys()].find((k) => k.startsWith(kind))!;
      const ours = [...objects.keys()].find((k) => k.startsWith(kind))!;
      expect(readAs(ours, b.get(theirs)!), `${theirs} under ${ours}`).toContain(named(ours));
    }
  });

  it('a blob moved to another chunk\'s place, or copied from a repository with another key, does not open', async () => {
    const m = await repoA.loadManifest('b1');
    const f = m.files.find((x) => x.path === KNOWN_PATH)!;
    const ids = [0, 1].map((i) => f.chunks!.subarray(i * 32, i * 32 + 32));
    const at = (repo: Repository, id: Uint8Array) => repo.location(id)!;
    const read = (repo: Repository, id: Uint8Array) => repo.readPackRange(at(repo, id).pack, at(repo, id).offset, at(repo, id).length);
    const [x, y] = ids;
    const boxY = await read(repoA, y);
    expect(openChunk(repoA.crypt, y, boxY, at(repoA, y).codec, at(repoA, y).rawLength).length).toBe(at(repoA, y).rawLength);
    expect(() => openChunk(repoA.crypt, x, boxY, 0, at(repoA, y).rawLength)).toThrow(/authentication failed/);
    // the same bytes in B: another key, another id; its box under A's id and key does not open
    const mb = await repoB.loadManifest('b1');
    const idB = mb.files.find((z) => z.path === KNOWN_PATH)!.chunks!.subarray(0, 32);
    expect(Buffer.from(idB).equals(Buffer.from(x))).toBe(false);
    expect(() => openChunk(repoA.crypt, x, Buffer.alloc(0), 0, 0)).toThrow(/too short/);
    const boxB = await read(repoB, idB);
    expect(() => openChunk(repoA.crypt, x, boxB, 0, at(repoA, x).rawLength)).toThrow(/authentication failed/);
  });

  it('check names the file whose chunk was flipped in its pack', async () => {
    const m = await repoA.loadManifest('b1');
    const f = m.files.find((x) => x.path === 'other.bin')!;
    const loc = repoA.location(f.chunks!.subarray(0, 32))!;
    const file = path.join(work, 'a', 'data', loc.pack.slice(0, 2), loc.pack);
    const bytes = await fsp.readFile(file);
    const saved = Buffer.from(bytes);
    bytes[loc.offset + 30] ^= 0x40;
    await fsp.chmod(file, 0o644);
    await fsp.writeFile(file, bytes);
    try {
      const r = await verifyBackup(await Repository.open(new FsStore(path.join(work, 'a')), { masterKey: KEY_A }), m, { readData: true, pool });
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r.damaged)).toContain('other.bin');
      expect(JSON.stringify(r.damaged)).not.toContain(KNOWN_PATH);
    } finally {
      await fsp.writeFile(file, saved);
    }
  });
});

describe('encrypted repository: the grep test', () => {
  /** What an onlooker could look for: the file's bytes, its hashes, its chunks' unkeyed ids, its path. */
  function needles(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const at of [0, 1000, 59_990, 75_000, known.length - 32]) out.set(`bytes at ${at}`, known.subarray(at, at + 32));
    out.set('secret text', Buffer.from(SECRET_TEXT));
    const both = (name: string, h: Uint8Array) => {
      out.set(name, Buffer.from(h));
      out.set(`${name} (hex)`, Buffer.from(Buffer.from(h).toString('hex')));
    };
    both('sha256', createHash('sha256').update(known).digest());
    both('blake3', blake3(known));
    for (const [which, gear] of [['plain gear', undefined], ['secret gear', repoA.crypt!.gear]] as const) {
      const cdc = new FastCDC(CHUNKER, createScanner({ gear }));
      [...cdc.push(new Uint8Array(known)), ...cdc.finish()].forEach((c, i) => both(`blake3 of chunk ${i} (${which})`, blake3(c)));
    }
    out.set('path', Buffer.from(KNOWN_PATH));
    out.set('file name', Buffer.from('known-file.dat'));
    out.set('folder name', Buffer.from('secret-dir'));
    return out;
  }

  const found = (hay: Map<string, Uint8Array>, n: Map<string, Buffer>) =>
    [...n].flatMap(([what, needle]) => [...hay].filter(([, v]) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).includes(needle)).map(([k]) => `${what} in ${k}`));

  it('finds none of them in any object of an encrypted repository', () => {
    expect(objects.size).toBeGreaterThan(5);
    expect(found(objects, needles())).toEqual([]);
  });

  it('(the same search finds them in a plain repository: the test can fail)', async () => {
    const src = path.join(work, 'src');
    await makeRepo(path.join(work, 'plain'), undefined, src);
    const hits = found(await allObjects(path.join(work, 'plain')), needles());
    for (const what of ['bytes at 0', 'secret text', 'sha256', 'path', 'blake3 of chunk 0 (plain gear)']) expect(hits.some((h) => h.startsWith(`${what} in`)), what).toBe(true);
  });
});
