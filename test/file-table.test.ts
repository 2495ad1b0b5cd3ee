/**
 * A manifest's entries as columns (src/repo/file-table.ts, issue #22): the table gives back the
 * entries it was given, a decoded manifest holds one (its entry objects are made only when
 * `files` is read), and a restore of a loaded manifest reads the table, never `files`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { FileTable } from '../src/repo/file-table.js';
import { chunkCount, chunkId, decodeManifest, encodeManifest, fileTable, ownTable, withTable, type FileEntry, type Manifest } from '../src/repo/manifest.js';
import { verifyBackup } from '../src/backup/verify.js';
import { blake3 } from '../src/hash/blake3.js';
import { blake3Ready } from '../src/hash/blake3.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';
import { fileEntryArb } from './helpers/entry-arb.js';

/** A plain envelope's hash made again over damaged bytes (so the damage reaches the decoder). */
const sealAgain = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(b);
  out.set(blake3(out.subarray(0, out.length - 32)), out.length - 32);
  return out;
};

const manifest = (files: FileEntry[]): Manifest => ({ version: 1, id: 'b1', type: 'full', startedAt: 1, completedAt: 2, source: {}, files, logicalSize: 0, addedBytes: 0 });

describe('FileTable', () => {
  beforeAll(() => blake3Ready());

  it('gives back every entry it was given, field by field and as entries', () => {
    fc.assert(
      fc.property(fc.array(fileEntryArb, { maxLength: 30 }), (entries) => {
        const t = FileTable.of(entries);
        expect(t.length).toBe(entries.length);
        expect(t.entries()).toEqual(entries);
        entries.forEach((f, k) => {
          expect([t.path(k), t.kind(k), t.size(k), t.mode(k), t.mtimeMs(k), t.target(k), t.sha256(k)]).toEqual([f.path, f.kind, f.size, f.mode, f.mtimeMs, f.target, f.sha256]);
          expect(t.chunkCount(k)).toBe(chunkCount(f));
          for (let i = 0; i < chunkCount(f); i++) expect(t.chunkId(k, i)).toEqual(chunkId(f, i));
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a decoded manifest keeps its entries as a table, ~109 bytes of typed arrays a one-chunk file, and makes entry objects only when files is read', () => {
    const files: FileEntry[] = Array.from({ length: 1000 }, (_, i) => ({ path: `d/f${i}`, kind: 'file', size: i, mode: 0o644, mtimeMs: 1e12 + i, sha256: new Uint8Array(32).fill(i), chunks: new Uint8Array(32).fill(255 - (i % 200)) }));
    const back = decodeManifest(encodeManifest(manifest(files)), 'manifest');
    const read = vi.spyOn(back, 'files', 'get');
    const t = fileTable(back);
    expect(t.length).toBe(1000);
    expect(t.bytes / 1000).toBeLessThanOrEqual(109); // kind 1 + size, mode, mtime 8 each + chunk start, end 4 each + SHA-256 32 + one id 32 + meta start, end 4 each
    expect(fileTable(back)).toBe(t); // the decode's own, not made again
    expect(read).not.toHaveBeenCalled();
    expect(back.files).toEqual(files);
    expect(read).toHaveBeenCalledTimes(1);
    // assigning files drops the table: the table is then made from the entries given
    back.files = files.slice(0, 3);
    expect(fileTable(back).length).toBe(3);
  });
});

describe('FileTable rows set in any order', () => {
  beforeAll(() => blake3Ready());

  it('gives back rows set out of order, and in path order when asked', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fileEntryArb, { selector: (f) => f.path, maxLength: 30 }), fc.infiniteStream(fc.nat()), (entries, picks) => {
        const order = entries.map((_, k) => k);
        for (let i = order.length - 1; i > 0; i--) {
          const j = picks.next().value % (i + 1);
          [order[i], order[j]] = [order[j], order[i]];
        }
        const t = new FileTable(entries.length);
        for (const k of order) t.set(k, entries[k]);
        expect(t.entries()).toEqual(entries);
        const byPath = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        expect(t.sortedByPath().entries()).toEqual(byPath);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps meta as msgpack bytes: a file with a backup\'s ctime and inode costs their ~34 bytes, no object', () => {
    const files: FileEntry[] = Array.from({ length: 1000 }, (_, i) => ({ path: `d/f${i}`, kind: 'file', size: i, mode: 0o644, mtimeMs: 1e12 + i, sha256: new Uint8Array(32), chunks: new Uint8Array(32), meta: { ctime: String(1_733_590_000_000 + i), ino: String(10_000_000 + i) } }));
    const t = FileTable.of(files);
    expect(t.bytes / 1000).toBeLessThanOrEqual(109 + 34);
    expect(t.meta(7)).toEqual({ ctime: '1733590000007', ino: '10000007' });
    expect(t.entries()).toEqual(files);
  });

  it("a table's manifest is the bytes its entries' make, and is written without decoding a row's meta (but a row with a name that is not UTF-8)", () => {
    // names with a byte that is not UTF-8 (src/util/names.ts): their rows carry pb/lb after x, so they are encoded from the entry
    const odd: FileEntry[] = [
      { path: 'bad\udcff', kind: 'file', size: 1, mode: 0o644, mtimeMs: 1, sha256: new Uint8Array(32), chunks: new Uint8Array(32), meta: { a: 'b' } },
      { path: 'link', kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 2, target: 't\udc80', meta: { c: 'd' } },
    ];
    const meta = vi.spyOn(FileTable.prototype, 'meta');
    try {
      fc.assert(
        fc.property(fc.array(fileEntryArb, { maxLength: 30 }), fc.boolean(), (entries, withOdd) => {
          const files = withOdd ? [...entries, ...odd] : entries;
          const { files: _, ...head } = manifest(files);
          const fromTable = withTable(FileTable.of(files), head);
          meta.mockClear();
          const bytes = encodeManifest(fromTable);
          expect(meta).toHaveBeenCalledTimes(withOdd ? 4 : 0); // each odd row twice: once to count its bytes, once to copy them
          expect(Buffer.compare(bytes, encodeManifest(manifest(files)))).toBe(0);
          expect(decodeManifest(bytes, 'manifest').files).toEqual(files);
        }),
        { numRuns: 80 },
      );
    } finally {
      meta.mockRestore();
    }
  });

  it('a damaged meta fails the manifest\'s decode, as any other field does', () => {
    const f: FileEntry = { path: 'a', kind: 'file', size: 1, mode: 0o644, mtimeMs: 1, sha256: new Uint8Array(32), chunks: new Uint8Array(32), meta: { ab: 'v' } };
    const bytes = encodeManifest(manifest([f]));
    const at = Buffer.from(bytes).indexOf(Buffer.from([0xa2, 0x61, 0x62, 0xa1, 0x76])); // "ab": "v"
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(bytes);
    bad.set([0x92, 0xc0, 0xc0], at); // the key "ab" made an array of two nils: well-formed msgpack, not a map key
    expect(() => decodeManifest(sealAgain(bad), 'manifest')).toThrow(/manifest: (body does not decode|malformed)/);
  });
});

describe('backup and check on the table', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir();
    await writeTree(path.join(work, 'src'), Array.from({ length: 20 }, (_, i) => ({ path: `d${i % 2}/f${i}`, data: pseudoRandom(i + 3, 30 + i * 41), mode: 0o644 })));
  });
  afterAll(() => fsp.rm(work, { recursive: true, force: true }));

  it('a backup gives a manifest holding its table, stored as the same bytes a manifest of entry objects makes', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
    const m = await backupTree(repo, path.join(work, 'src'), { id: 'b1', parallelism: 1 });
    expect(ownTable(m)?.length).toBe(22);
    const stored = new Uint8Array(await fsp.readFile(path.join(work, 'repo', 'backups', 'b1')));
    const plain: Manifest = { version: 1, id: m.id, type: m.type, baseId: m.baseId, backupTs: m.backupTs, startedAt: m.startedAt, completedAt: m.completedAt, source: m.source, files: ownTable(m)!.entries(), logicalSize: m.logicalSize, addedBytes: m.addedBytes, extra: m.extra };
    expect(Buffer.compare(stored, encodeManifest(plain))).toBe(0);
    await repo.close();
  });

  it('checks every byte of a loaded manifest without making its entry objects', async () => {
    const repo = await Repository.open(new FsStore(path.join(work, 'repo')));
    const m = await repo.loadManifest('b1');
    const read = vi.spyOn(m, 'files', 'get');
    const seen: string[] = [];
    const r = await verifyBackup(repo, m, { readData: true, parallelism: 1, onFile: (f) => seen.push(f.path) });
    expect(read).not.toHaveBeenCalled();
    expect(r).toMatchObject({ ok: true, files: 20 });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `d${i % 2}/f${i}`).sort());
    await repo.close();
  });
});

describe('restore from the table', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir();
    await writeTree(path.join(work, 'src'), Array.from({ length: 30 }, (_, i) => ({ path: `d${i % 3}/f${i}`, data: pseudoRandom(i + 7, 50 + i * 97), mode: 0o640 })));
    await fsp.symlink('f0', path.join(work, 'src', 'd0', 'link'));
  });
  afterAll(() => fsp.rm(work, { recursive: true, force: true }));

  it('restores a loaded manifest byte for byte without making its entry objects', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
    await backupTree(repo, path.join(work, 'src'), { id: 'b1', parallelism: 1 });
    const m = await repo.loadManifest('b1');
    const read = vi.spyOn(m, 'files', 'get');
    const out = path.join(work, 'out');
    const p = await restoreBackup(repo, m, out, { parallelism: 1 });
    expect(read).not.toHaveBeenCalled();
    expect(p).toMatchObject({ files: 30, totalFiles: 30 });
    for (let i = 0; i < 30; i++) {
      const rel = `d${i % 3}/f${i}`;
      expect(Buffer.compare(await fsp.readFile(path.join(out, rel)), await fsp.readFile(path.join(work, 'src', rel))), rel).toBe(0);
      expect((await fsp.stat(path.join(out, rel))).mode & 0o777).toBe(0o640);
    }
    expect(await fsp.readlink(path.join(out, 'd0', 'link'))).toBe('f0');
    await repo.close();
  });
});
