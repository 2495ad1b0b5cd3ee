/** Runs the Store contract suite (test/store.suite.ts) on every Store implementation. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { MemStore } from '../src/store/mem.js';
import { FsStore } from '../src/store/fs.js';
import { S3Store } from '../src/store/s3.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { runStoreSuite } from './store.suite.js';

runStoreSuite('MemStore', async () => ({ store: new MemStore(), cleanup: async () => undefined }));

runStoreSuite('FsStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mobr-fsstore-'));
  return { store: new FsStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}, { inFlight: true, readsInto: true });

// S3Store against s3rver; small parts so the large-object case goes up in 3 parts.
let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});
runStoreSuite('S3Store (s3rver)', async () => ({
  store: new S3Store({
    endpoint: server.endpoint, bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey,
    prefix: `/suite/${randomBytes(4).toString('hex')}`, multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024,
  }),
  cleanup: async () => undefined,
}), { largeSize: 12 * 1024 * 1024 + 7, propertyRuns: 15, inFlight: true });
