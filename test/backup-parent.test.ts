/**
 * Which earlier backup a new one builds on and compares with (src/cli/commands/backup.ts,
 * newestBackupOf): the newest of its source that is still in the repository. The catalog can
 * name one a concurrent `delete` has just removed (the manifest goes first, the record after):
 * a new backup passes over it. Seen in test/reliability/concurrency at load: a backup beside
 * three deletes failed with "no backup … in …" (exit 3), after its check for the manifest said
 * it was there and the load a moment later found it gone.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { newestBackupOf } from '../src/cli/commands/backup.js';
import type { BackupRecord } from '../src/cli/meta.js';
import { Repository } from '../src/repo/repository.js';
import { StoreDecorator } from '../src/store/decorator.js';
import { MemStore } from '../src/store/mem.js';
import type { CallOptions } from '../src/store/store.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

/** A store where `gone` was deleted just after a look for it said it was there. */
class DeletedAfterLook extends StoreDecorator<MemStore> {
  constructor(inner: MemStore, private readonly gone: string) {
    super(inner);
  }
  override async has(key: string, o?: CallOptions): Promise<boolean> {
    if (key === this.gone) return true;
    return this.inner.has(key, o);
  }
}

describe('the backup a new one builds on', () => {
  it('passes over the newest when a delete removed it meanwhile, and takes the next', async () => {
    const work = await tempDir();
    try {
      await writeTree(path.join(work, 'src'), [{ path: 'f', data: pseudoRandom(1, 3000), mode: 0o644 }]);
      const mem = new MemStore();
      const repo = await Repository.init(mem);
      const location = { backupDir: 'filesystem' as const, path: '/b' };
      const ids = ['11111111-126f-11ef-9902-26dd28356ef3', '22222222-126f-11ef-9902-26dd28356ef3', '33333333-126f-11ef-9902-26dd28356ef3'];
      for (const id of ids) await backupTree(repo, path.join(work, 'src'), { id });
      const rec = (id: string, completeTime: number, source: string): BackupRecord => ({ id, size: 1, location, atTime: completeTime - 1, durationNs: 1, completeTime, backupTs: '', backupType: 'full', source });
      // newest first: the third (another source), the second (deleted meanwhile), then the first
      const records = [rec(ids[0], 1000, 'cold /d'), rec(ids[1], 2000, 'cold /d'), rec(ids[2], 3000, 'cold /other')];
      await mem.delete(`backups/${ids[1]}`);
      const racing = await Repository.open(new DeletedAfterLook(mem, `backups/${ids[1]}`));
      expect((await newestBackupOf(racing, records, location, 'cold /d'))?.id).toBe(ids[0]);
      expect((await newestBackupOf(racing, records, { ...location, path: '/elsewhere' }, 'cold /d'))?.id).toBeUndefined();
      await mem.delete(`backups/${ids[0]}`);
      expect(await newestBackupOf(racing, records, location, 'cold /d')).toBeUndefined();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
