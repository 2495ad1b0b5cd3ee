/**
 * mobr as a child process for the benchmark (so its peak RSS is measured like restic's and borg's):
 *   node dist/bench/mobr-child.js backup <repo> <src> <id> [<parent id>]
 *   node dist/bench/mobr-child.js restore <repo> <id> <dest>
 *   node dist/bench/mobr-child.js check <repo> <id>       (reads every byte, like `mo_br check`)
 * Prints one JSON line with what it did, its peak RSS (`maxRssKiB`) and CPU time (`cpuUs`, user + system).
 * With MOBR_BENCH_ENCRYPT=1 the repository is encrypted
 * (spec/encryption.md) under a fixed bench-only master key (no key file: the KDF is not measured).
 */
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { fileTable } from '../src/repo/manifest.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import type { MasterKey } from '../src/crypto/master.js';

/** A fixed key for benchmarks only: never a real repository's. */
const BENCH_KEY: MasterKey = { id: 'be4c4be4c4be4c4be4c4be4c4be4c4be', data: new Uint8Array(32).fill(7), ids: new Uint8Array(32).fill(8), chunker: new Uint8Array(32).fill(9) };

function done(what: Record<string, unknown>): void {
  const u = process.resourceUsage();
  console.log(JSON.stringify({ ...what, maxRssKiB: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime }));
}

async function main(argv: string[]): Promise<void> {
  const [cmd, repoDir, a, b, c] = argv;
  const repo = await Repository.openOrInit(new FsStore(repoDir), {}, { masterKey: process.env.MOBR_BENCH_ENCRYPT === '1' ? BENCH_KEY : undefined });
  if (cmd === 'backup') {
    const parent = c ? await repo.loadManifest(c) : undefined;
    const m = await backupTree(repo, a, { id: b, parent });
    done({ files: fileTable(m).length, logicalSize: m.logicalSize, addedBytes: m.addedBytes });
  } else if (cmd === 'restore') {
    const m = await repo.loadManifest(a);
    const p = await restoreBackup(repo, m, b);
    done({ ...p });
  } else if (cmd === 'check') {
    const r = await verifyBackup(repo, await repo.loadManifest(a), { readData: true });
    done({ ok: r.ok, files: r.files, bytes: r.bytes, packReads: r.packReads, packs: [...repo.index.packs.keys()].length });
    if (!r.ok) process.exitCode = 1;
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
  await repo.close();
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
