/**
 * The library entry point (src/index.ts, README "mobr as a library") on a repository in S3: a
 * Location names the bucket and folder, the keys come beside it in `credentials`, and nothing
 * the repository shows or stores carries them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { backup, check, openRepository, restore, type S3Location } from '../src/index.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { pseudoRandom, readTree, tempDir, writeTree } from './helpers/tree.js';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server.stop();
});

const where = (filepath: string): S3Location => ({ backupDir: 's3', endpoint: server.endpoint, bucket: server.bucket, filepath, isMinio: true });
const credentials = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });

async function objectsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe('library: openRepository on an S3 Location', () => {
  it('creates, backs up, checks and restores byte-exact; keys appear in no message and no object', async () => {
    const src = await tempDir();
    await writeTree(src, [
      { path: 'a/one.bin', data: pseudoRandom(1, 200_000), mode: 0o644 },
      { path: 'b/two.txt', data: Buffer.from('hello library\n'), mode: 0o600 },
    ]);
    const repo = await openRepository(where('/lib/repo'), { create: true, credentials: credentials() });
    try {
      expect(repo.store.location).toBe(`s3 ${server.endpoint} ${server.bucket}/lib/repo`);
      const m = await backup(repo, src, { id: 'lib-1' });
      expect((await check(repo, m.id, { readData: true })).ok).toBe(true);
      const dest = await tempDir();
      await restore(repo, m.id, dest);
      expect(await readTree(dest)).toEqual(await readTree(src));
    } finally {
      await repo.close();
    }
    const again = await openRepository(where('lib/repo/'), { credentials: credentials() }); // same folder, slashes ignored
    try {
      expect(await again.listBackupIds()).toEqual(['lib-1']);
      expect(server.seenAccessKeys.has(server.accessKeyId)).toBe(true); // the requests were signed with the keys given
    } finally {
      await again.close();
    }
    for (const f of await objectsUnder(server.directory)) {
      const bytes = await fsp.readFile(f);
      expect(bytes.includes(Buffer.from(server.secretAccessKey)), f).toBe(false);
    }
  });

  it('an empty folder without create: NO_REPO; half a key pair: BAD_INPUT naming no key', async () => {
    await expect(openRepository(where('lib/empty'), { credentials: credentials() })).rejects.toMatchObject({ code: 'NO_REPO' });
    const e = await openRepository(where('lib/x'), { credentials: { accessKeyId: server.accessKeyId } }).catch((x: Error & { code?: string }) => x);
    expect(e).toMatchObject({ code: 'BAD_INPUT' });
    expect((e as Error).message).not.toContain(server.accessKeyId);
  });
});
