/**
 * The core's round trips on a real S3-protocol server (s3rver on 127.0.0.1), and backups through a
 * fault-injecting proxy: transient 5xx/SlowDown/resets are retried and the backup completes;
 * persistent faults fail in one line; either way every earlier backup still verifies and restores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { S3Store } from '../src/store/s3.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { isMobrError } from '../src/errors.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { startFaultProxy, type FaultProxy } from './helpers/faultproxy.js';
import { pseudoRandom, readTree, tempDir, treeArb, writeTree } from './helpers/tree.js';

const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 64 * 1024 };

let server: S3Server;
let proxy: FaultProxy;
let pool: WorkerPool;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
  pool = new WorkerPool(2);
});
afterAll(async () => {
  await pool.close();
  await proxy.stop();
  await server.stop();
});

function s3(prefix: string, viaProxy = false): S3Store {
  return new S3Store({
    endpoint: viaProxy ? proxy.endpoint : server.endpoint,
    bucket: server.bucket,
    prefix,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
}

async function expectSameTree(a: string, b: string): Promise<void> {
  const ta = await readTree(a);
  const tb = await readTree(b);
  expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
  for (const [k, v] of ta) expect(tb.get(k)!.data.equals(v.data), k).toBe(true);
}

describe('round trips on S3', () => {
  it('restore(backup(tree)) equals tree for random trees (S3 store)', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(10, 50_000), async (files) => {
        const work = await tempDir();
        try {
          const src = path.join(work, 'src');
          await fsp.mkdir(src);
          await writeTree(src, files);
          const prefix = `rt${prefixes++}`;
          const repo = await Repository.init(s3(prefix), SMALL);
          await backupTree(repo, src, { id: 'b', pool });
          const again = await Repository.open(s3(prefix));
          const m = await again.loadManifest('b');
          await restoreBackup(again, m, path.join(work, 'out'), { pool });
          await expectSameTree(src, path.join(work, 'out'));
          expect((await verifyBackup(again, m, { readData: true, pool })).ok).toBe(true);
        } finally {
          await fsp.rm(work, { recursive: true, force: true });
        }
      }),
      { numRuns: 8 },
    );
  });
});

describe('ranged reads', () => {
  it('reads the first byte alone (a one-byte chunk at the start of a pack)', async () => {
    const store = s3(`range${prefixes++}`);
    await store.put('data/ab/x', new Uint8Array([7, 8, 9]));
    expect([...(await store.getRange('data/ab/x', 0, 1))]).toEqual([7]);
    expect([...(await store.getRange('data/ab/x', 2, 1))]).toEqual([9]);
  });
});

describe('backups through faults', () => {
  it('transient faults are retried: the backup completes; persistent faults fail in one line and damage nothing', async () => {
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      await writeTree(src, Array.from({ length: 6 }, (_, i) => ({ path: `tae/obj${i}`, data: pseudoRandom(i + 1, 150_000), mode: 0o644 })));
      const prefix = `faults${prefixes++}`;
      const repo = await Repository.init(s3(prefix, true), SMALL);
      await backupTree(repo, src, { id: 'first', pool });

      // transient: every 3rd PUT fails once in various ways, GETs see a reset now and then
      await writeTree(src, [{ path: 'tae/new1', data: pseudoRandom(77, 300_000), mode: 0o644 }]);
      proxy.inject({ fault: 'unavailable', method: 'PUT', every: 3 });
      proxy.inject({ fault: 'slowdown', method: 'PUT', times: 2 });
      proxy.inject({ fault: 'reset', method: 'GET', times: 2 });
      proxy.inject({ fault: 'cut-upload', method: 'PUT', times: 1 });
      const second = await backupTree(await Repository.open(s3(prefix, true)), src, { id: 'second', pool });
      proxy.clear();
      expect(second.files.filter((f) => f.kind === 'file').length).toBe(7);

      // persistent: every PUT fails; the backup fails with one clear line and no manifest
      await writeTree(src, [{ path: 'tae/new2', data: pseudoRandom(78, 300_000), mode: 0o644 }]);
      proxy.inject({ fault: 'internal-error', method: 'PUT', times: Infinity });
      let err: unknown;
      try {
        await backupTree(await Repository.open(s3(prefix, true)), src, { id: 'third', pool });
      } catch (e) {
        err = e;
      }
      proxy.clear();
      expect(isMobrError(err)).toBe(true);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      expect((err as Error).message).not.toContain(server.secretAccessKey);

      const after = await Repository.open(s3(prefix));
      expect(await after.listBackupIds()).toEqual(['first', 'second']);
      for (const id of ['first', 'second']) {
        const m = await after.loadManifest(id);
        expect((await verifyBackup(after, m, { readData: true, pool })).ok).toBe(true);
      }
      await restoreBackup(after, await after.loadManifest('second'), path.join(work, 'out'), { pool });
      const out = await readTree(path.join(work, 'out'));
      expect(out.get('tae/new1')!.data.equals(Buffer.from(pseudoRandom(77, 300_000)))).toBe(true);
    } finally {
      proxy.clear();
      await fsp.rm(work, { recursive: true, force: true });
    }
  });
});
