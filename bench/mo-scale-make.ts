/**
 * Issue 22's scale case through the CLI: makes a repository holding one MatrixOne server backup
 * (`source.kind: 'matrixone'`) of N small files under `tae/` (16 B–12 KB, log-uniform, 500 a folder,
 * bench/small.ts), so `./mo_br restore` and `./mo_br check` can be measured on it:
 *   node dist/bench/mo-scale-make.js <work> <N>
 * makes <work>/src (the tree) and <work>/repo (backup id `scale`), and prints one JSON line.
 */
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { fileTable } from '../src/repo/manifest.js';
import { makeCheckpointTree } from './small.js';

async function main(work: string, n: number): Promise<void> {
  const shape = await makeCheckpointTree(path.join(work, 'src', 'tae'), n, Math.ceil(n / 500));
  const repo = await Repository.openOrInit(new FsStore(path.join(work, 'repo')), {});
  const m = await backupTree(repo, path.join(work, 'src'), { id: 'scale', source: { kind: 'matrixone' } });
  await repo.close();
  const u = process.resourceUsage();
  console.log(JSON.stringify({ ...shape, entries: fileTable(m).length, logicalSize: m.logicalSize, maxRssKiB: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime }));
}

const [work, n] = process.argv.slice(2);
main(work, Number(n)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
