/**
 * Issue #25, "Locks that name the right process": a backup running in another PID namespace
 * (`unshare --pid --fork`: a container with host networking, a hostNetwork pod) with the same
 * hostname, beside `delete` and `prune` on the host. Its pid means nothing on the host (the test
 * makes sure no host process has it), so only its boot id, namespace and start time tell that it
 * lives: nothing it deduplicated against is freed, and it commits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { restoreBackup } from '../src/backup/restore.js';
import { backupTree } from '../src/backup/backup.js';
import { processGone } from '../src/util/process.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, MO_BR, mobrIn, type Run } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo, treeHashes } from './reliability/cli.js';
import { until } from './helpers/until.js';

const unshareWorks = process.platform === 'linux' && spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
let work: string;
let pool: WorkerPool;
beforeAll(async () => {
  ensureBuilt();
  pool = new WorkerPool(2);
  work = await tempDir('mobr-pidns-');
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

const exists = (p: string) => fsp.stat(p).then(() => true, () => false);

/** ./mo_br run by a node in a new PID namespace, after 200 short processes there (so its pid is one the host does not use). */
function inNamespace(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const script = 'n=0; while [ $n -lt 200 ]; do /bin/true; n=$((n+1)); done; "$@"'; // a child, not exec: the shell keeps pid 1
    const p = spawn('unshare', ['--pid', '--fork', 'sh', '-c', script, 'sh', process.execPath, MO_BR, ...args], { cwd: work, env: { ...process.env, ...env } });
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t0 = Date.now();
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
}

describe.skipIf(!unshareWorks)('a backup in another PID namespace beside delete and prune on the host', () => {
  it('nothing it relies on is freed, and it commits', async () => {
    const [repo, meta, A] = ['repo', 'mo_br.meta', 'A'].map((x) => path.join(work, x));
    await initTinyRepo(repo);
    await fsp.mkdir(A);
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(A, `a${i}`), pseudoRandom(30 + i, 150_000));
    const [a, b] = [randomUUID(), randomUUID()];
    const r = await Repository.open(new FsStore(repo));
    await backupTree(r, A, { id: a, pool });
    await backupTree(r, A, { id: b, pool }); // so that prune has something to remove
    const marker = path.join(work, 'ns-backup-paused');
    const ns = inNamespace(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', A, '--meta_path', meta], { MOBR_TEST_BACKUP_PAUSE: marker });
    await until(() => exists(marker), 60_000, 'the namespaced backup before its manifest');
    const [lockKey] = await allPaths(path.join(repo, 'locks'));
    const lock = JSON.parse(await fsp.readFile(path.join(repo, 'locks', lockKey), 'utf8')) as { pid: number; pidns: number };
    expect(processGone(lock.pid), `pid ${lock.pid} of the namespace is free on the host (what made the old rule call it dead)`).toBe(true);
    const packsBefore = (await allPaths(path.join(repo, 'data'))).filter((p) => /[0-9a-f]{64}$/.test(p));
    const del = await mobrIn(['delete', a, '--backup_dir', 'filesystem', '--backup_path', repo, '--meta_path', meta], work);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/^delete: no space freed yet: .*locked by backup .*shared, host .* pid \d+/m);
    const prune = await mobrIn(['prune', '--keep_last', '1', '--unrecorded', '--backup_dir', 'filesystem', '--backup_path', repo, '--meta_path', meta], work);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/^prune: no space freed yet: /m);
    expect((await allPaths(path.join(repo, 'data'))).filter((p) => /[0-9a-f]{64}$/.test(p))).toEqual(packsBefore);
    expect(await exists(path.join(repo, 'locks', lockKey)), 'the namespaced backup still holds its lock').toBe(true);
    await fsp.rm(marker);
    const done = await ns;
    expect(done.code, done.stderr).toBe(0);
    const id = backupIdOf(done.stdout)!;
    const fresh = await Repository.open(new FsStore(repo));
    const out = await tempDir('mobr-pidns-r-');
    await restoreBackup(fresh, await fresh.loadManifest(id), out, { pool });
    expect(await treeHashes(out)).toEqual(await treeHashes(A));
    await fsp.rm(out, { recursive: true, force: true });
  }, 60_000);
});
