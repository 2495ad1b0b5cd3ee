/**
 * Backup and restore against a local S3-protocol server (s3rver on 127.0.0.1, the same server
 * the tests start): MB/s and requests per GiB by kind (PUT, GET, HEAD, LIST), for a full
 * backup, an incremental one (+5% new objects, full-with-reuse) and a restore.
 * s3rver is a single-threaded Koa app writing files: its own cost is part of every figure, so
 * the request counts (which a real S3 bills) matter more than the MB/s.
 * Run: node --import tsx bench/s3.ts [--size MiB]   (results: bench/results/s3.md); `npm run bench`
 * runs the same steps (s3Steps) on a smaller tree so the S3 rows sit beside the others of one run.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { Repository } from '../src/repo/repository.js';
import { S3Store } from '../src/store/s3.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startS3Server } from '../test/helpers/s3server.js';
import { addObjects, createTree, duBytes } from './dataset.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

export interface S3Row {
  step: string;
  bytes: number;
  seconds: number;
  put: number;
  get: number;
  head: number;
  list: number;
  retries: number;
}

/** Full backup, incremental (+5% new objects) and restore of a `size`-byte tree on s3rver. */
export async function s3Steps(size: number, log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<S3Row[]> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'mobr-bench-s3-'));
  const server = await startS3Server();
  const pool = new WorkerPool();
  const rows: S3Row[] = [];
  try {
    const data = await createTree(path.join(work, 'tree'), size);
    const open = () => new S3Store({ endpoint: server.endpoint, bucket: server.bucket, prefix: 'bench', accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    const measure = async (step: string, bytes: number, fn: (store: S3Store) => Promise<unknown>) => {
      const store = open();
      const t0 = performance.now();
      await fn(store);
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ step, bytes, seconds, ...store.stats });
      log(`s3 ${step}: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`);
    };
    const treeBytes = await duBytes(data.root);
    await measure('full backup', treeBytes, async (store) => {
      const repo = await Repository.init(store);
      await backupTree(repo, data.root, { id: 'full', pool });
    });
    const added = (await addObjects(data, 0.05)).reduce((s, o) => s + o.size, 0);
    await measure(`incremental (+${(added / MiB).toFixed(0)} MiB new)`, await duBytes(data.root), async (store) => {
      const repo = await Repository.open(store);
      await backupTree(repo, data.root, { id: 'inc', type: 'incremental', baseId: 'full', parent: await repo.loadManifest('full'), pool });
    });
    await measure('restore', await duBytes(data.root), async (store) => {
      const repo = await Repository.open(store);
      await restoreBackup(repo, await repo.loadManifest('inc'), path.join(work, 'out'), { pool });
    });
  } finally {
    await pool.close();
    await server.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
  return rows;
}

/** Requests of one kind per GiB of logical bytes. */
export const perGiB = (n: number, bytes: number): number => n / (bytes / GiB);

async function main(): Promise<void> {
  const rows = await s3Steps(arg('size', 1024) * MiB);
  const per = (n: number, bytes: number) => perGiB(n, bytes).toFixed(1);
  const lines = [
    '# mobr on S3 (s3rver on 127.0.0.1)',
    '',
    `Run ${new Date().toISOString()} by \`node --import tsx bench/s3.ts\`; ${os.availableParallelism()} cores, Node ${process.version}. Requests are per GiB of the tree backed up or restored (logical bytes).`,
    '',
    '| step | MB/s | PUT/GiB | GET/GiB | HEAD/GiB | LIST/GiB | retries |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.step} | ${(r.bytes / 1e6 / r.seconds).toFixed(0)} | ${per(r.put, r.bytes)} | ${per(r.get, r.bytes)} | ${per(r.head, r.bytes)} | ${per(r.list, r.bytes)} | ${r.retries} |`),
    '',
    'PUTs are 16 MiB packs plus one index object and the manifest; a restore reads by pack: the chunks it needs from a pack in one ranged GET (gaps up to 1 MiB read across).',
    '',
  ];
  await fsp.mkdir(path.join(import.meta.dirname, 'results'), { recursive: true });
  await fsp.writeFile(path.join(import.meta.dirname, 'results', 's3.md'), lines.join('\n'));
  process.stdout.write(lines.join('\n'));
}

if (process.argv[1] && /[\\/]s3\.(ts|js)$/.test(process.argv[1])) main().catch((e) => {
  process.stderr.write(`bench/s3: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
