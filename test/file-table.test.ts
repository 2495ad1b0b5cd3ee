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
import { chunkCount, chunkId, decodeManifest, encodeManifest, fileTable, type FileEntry, type Manifest } from '../src/repo/manifest.js';
import { blake3Ready } from '../src/hash/blake3.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';
import { fileEntryArb } from './helpers/entry-arb.js';

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

  it('a decoded manifest keeps its entries as a table, ~93 bytes of typed arrays a one-chunk file, and makes entry objects only when files is read', () => {
    const files: FileEntry[] = Array.from({ length: 1000 }, (_, i) => ({ path: `d/f${i}`, kind: 'file', size: i, mode: 0o644, mtimeMs: 1e12 + i, sha256: new Uint8Array(32).fill(i), chunks: new Uint8Array(32).fill(255 - (i % 200)) }));
    const back = decodeManifest(encodeManifest(manifest(files)), 'manifest');
    const read = vi.spyOn(back, 'files', 'get');
    const t = fileTable(back);
    expect(t.length).toBe(1000);
    expect(t.bytes / 1000).toBeLessThanOrEqual(94); // kind 1 + size, mode, mtime 8 each + chunk start 4 + SHA-256 32 + one id 32
    expect(fileTable(back)).toBe(t); // the decode's own, not made again
    expect(read).not.toHaveBeenCalled();
    expect(back.files).toEqual(files);
    expect(read).toHaveBeenCalledTimes(1);
    // assigning files drops the table: the table is then made from the entries given
    back.files = files.slice(0, 3);
    expect(fileTable(back).length).toBe(3);
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
