/** Runs the Store contract suite (test/store.suite.ts) on every Store implementation. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MemStore } from '../src/store/mem.js';
import { FsStore } from '../src/store/fs.js';
import { runStoreSuite } from './store.suite.js';

runStoreSuite('MemStore', async () => ({ store: new MemStore(), cleanup: async () => undefined }));

runStoreSuite('FsStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mobr-fsstore-'));
  return { store: new FsStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
