/** gc removes what killed processes leave behind: staging copies and unfinished temp files. */
import { describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { gc } from '../src/repo/gc.js';
import { tempDir } from './helpers/tree.js';

describe('gc leftovers', () => {
  it('deletes old staging objects and temp files, keeps recent ones and everything else', async () => {
    const root = await tempDir();
    try {
      const store = new FsStore(root);
      const repo = await Repository.init(store);
      await store.put('staging/old-backup/tae/obj_00000', new Uint8Array([1]));
      await store.put('staging/new-backup/tae/obj_00000', new Uint8Array([2]));
      const oldTmp = path.join(root, 'data', 'ab', 'ab12.tmp-000000');
      const newTmp = path.join(root, 'data', 'cd', 'cd34.tmp-111111');
      for (const f of [oldTmp, newTmp]) {
        await fsp.mkdir(path.dirname(f), { recursive: true });
        await fsp.writeFile(f, 'partial');
      }
      const hourAgo = new Date(Date.now() - 3_600_000);
      await fsp.utimes(path.join(root, 'staging/old-backup/tae/obj_00000'), hourAgo, hourAgo);
      await fsp.utimes(oldTmp, hourAgo, hourAgo);

      const dry = await gc(repo, { safetyWindowMs: 60_000, dryRun: true });
      expect(dry.leftoversDeleted).toBe(1); // the staging object (temp files are only swept for real)
      expect(await store.has('staging/old-backup/tae/obj_00000')).toBe(true);

      const r = await gc(repo, { safetyWindowMs: 60_000 });
      expect(r.leftoversDeleted).toBe(2);
      expect(await store.has('staging/old-backup/tae/obj_00000')).toBe(false);
      expect(await store.has('staging/new-backup/tae/obj_00000')).toBe(true);
      await expect(fsp.stat(oldTmp)).rejects.toThrow();
      expect((await fsp.stat(newTmp)).isFile()).toBe(true);
      expect(await store.has('config')).toBe(true);

      // even with no safety window, a fresh temp file may be another process's put in progress
      const r0 = await gc(repo, { safetyWindowMs: 0 });
      expect(r0.leftoversDeleted).toBe(0);
      expect((await fsp.stat(newTmp)).isFile()).toBe(true);
      expect(await store.has('staging/new-backup/tae/obj_00000')).toBe(true);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
