/**
 * What a file entry holds (issue #22: a million files in under 1 GiB). A view costs ~100 bytes
 * of heap and a buffer of its own ~240, so a manifest read back or a backup's new entries keep
 * their SHA-256s and chunk ids as views of one buffer, not one buffer each, and a decoded
 * manifest keeps no view of the object's bytes (which would keep all of them alive).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { decodeManifest, encodeManifest, type FileEntry } from '../src/repo/manifest.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const buffersOf = (files: FileEntry[]) => new Set(files.flatMap((f) => (f.kind === 'file' ? [f.sha256!.buffer, f.chunks!.buffer] : [])));

describe('file entries keep their bytes in shared buffers', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir();
    await writeTree(path.join(work, 'src'), Array.from({ length: 40 }, (_, i) => ({ path: `d${i % 3}/f${i}`, data: pseudoRandom(i + 1, 100 + i * 53), mode: 0o644 })));
  });
  afterAll(() => fsp.rm(work, { recursive: true, force: true }));

  it('a backup gives its files as views of its table\'s two buffers, and its manifest reads back the same, in buffers of its own', async () => {
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')));
    const m = await backupTree(repo, path.join(work, 'src'), { id: 'b1', parallelism: 1 });
    const files = m.files.filter((f) => f.kind === 'file');
    expect(files).toHaveLength(40);
    // the backup's manifest holds its table (src/repo/file-table.ts): one buffer of SHA-256s, one of chunk ids, not 80
    expect(buffersOf(files).size).toBe(2);
    const bytes = encodeManifest(m);
    const back = decodeManifest(bytes, 'manifest');
    expect(back.files).toEqual(m.files);
    const held = buffersOf(back.files);
    expect(held.size).toBe(2); // the manifest's table (src/repo/file-table.ts): one buffer of SHA-256s, one of chunk ids
    expect(held.has(bytes.buffer)).toBe(false);
    // every file entry has one shape: no field added after it was made, none undefined
    for (const f of back.files) expect(Object.keys(f)).toEqual(['path', 'kind', 'size', 'mode', 'mtimeMs', ...(f.kind === 'file' ? ['sha256', 'chunks', 'meta'] : [])]);
    await repo.close();
  });
});
