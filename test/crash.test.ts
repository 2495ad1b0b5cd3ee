/**
 * Crash safety (spec/reliability.md §1): `./mo_br backup --data_dir`, `delete`, `sync`,
 * `restore` and server backups are killed with SIGKILL at random moments. After every kill:
 * - the catalog still parses (`list` exits 0) and every record in it names a backup whose
 *   manifest is in the repository (or, after a killed delete, a retried delete succeeds);
 * - `mo_br check --backup_dir` of the repository passes for every backup it holds;
 * - every remaining backup restores byte-identical to the tree it was taken from;
 * - a killed restore left only right bytes under real names;
 * - the next backup works.
 * Rounds: MOBR_CRASH_ROUNDS (default 10); seed: MOBR_SEED (printed on failure).
 * The commands that are killed run as ./mo_br processes of their own; the ones that judge what a
 * kill left (list, check, restore, a rerun) run in this process (mobrIn), as a process adds
 * nothing to what they prove.
 * Server backups killed mid-way: crash-server.test.ts (a file of its own, so the two run at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { toHex } from '../src/hash/hex.js';
import { SEED, allPaths, backupIdOf, ensureBuilt, initTinyRepo, killOnceWriting, makeMoData, mobr, rng, treeHashes } from './reliability/cli.js';
import { mobrIn } from './helpers/cli.js';

const ROUNDS = Number(process.env.MOBR_CRASH_ROUNDS ?? 10);
const KEEP = 1; // complete backups kept; older ones are deleted (also under SIGKILL)

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-crash-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function manifestIds(repo: string): Promise<string[]> {
  return (await fsp.readdir(path.join(repo, 'backups')).catch(() => [] as string[])).filter((n) => !n.includes('.tmp-')).sort();
}

describe(`SIGKILL during backup, delete, sync and restore (${ROUNDS} rounds, seed ${SEED})`, () => {
  // One test per round (each well under the per-test limit on a loaded machine); the rounds
  // share the repository, the catalog and what is expected of them, in order.
  const rand = rng(SEED);
  let data: string;
  let repo: string;
  let M: string[];
  let BACKUP: string[];
  let mirror: string;
  /** backup id -> hashes of the tree it was taken from */
  const expected = new Map<string, Map<string, string>>();
  let backupMs = 0;
  const restored = new Set<string>();
  const everSeen = new Map<string, Map<string, string>>();
  const killed = { backup: 0, delete: 0, sync: 0, restoreTried: 0, restore: 0, restoreMidway: 0, backupDone: 0, deleteDone: 0 };
  beforeAll(async () => {
    data = path.join(work, 'mo-data');
    repo = path.join(work, 'repo');
    M = ['--meta_path', path.join(work, 'mo_br.meta')];
    BACKUP = ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, ...M];
    mirror = path.join(work, 'mirror');
    await makeMoData(data, 4, 2 * 1024 * 1024, SEED);
    await initTinyRepo(repo);
  });

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round}: every remaining backup checks and restores byte-identical`, async () => {
      const ctx = `round ${round} (seed ${SEED})`;
      // New data each round: one file replaced whole, so the backup writes many packs.
      const names = (await fsp.readdir(path.join(data, 'shared'))).sort();
      await fsp.writeFile(path.join(data, 'shared', names[round % names.length]), pseudoRandom(SEED + round * 31 + 7, 2 * 1024 * 1024 + round));
      const hashes = await treeHashes(data);
      const before = new Set(await manifestIds(repo));

      // 1. A backup killed at a random moment within the length of the last backup that ran whole
      //    (the first round runs whole; later ones write less, so the length is re-learnt).
      const killAt = round === 0 ? undefined : Math.floor(120 + rand() * Math.max(50, backupMs - 120));
      const b = await mobr(BACKUP, work, { killAfterMs: killAt });
      if (round === 0) expect(b.code, `${ctx}: ${b.stderr}`).toBe(0);
      if (b.signal !== 'SIGKILL' && b.code === 0) backupMs = b.ms;
      if (b.signal === 'SIGKILL') killed.backup++;
      else {
        expect(b.code, `${ctx}: ${b.stderr}`).toBe(0);
        killed.backupDone++;
        backupMs = Math.max(backupMs, b.ms); // the machine may be slower now than in round 0
      }
      // Any manifest that appeared this round is of this round's tree (killed after the manifest,
      // before the catalog: an unlisted but complete backup).
      for (const id of await manifestIds(repo)) if (!before.has(id)) {
        expected.set(id, hashes);
        everSeen.set(id, hashes);
      }

      // 2. Once there are more than KEEP backups, delete the oldest, killed at a random moment.
      const listed = JSON.parse((await mobrIn(['list', '--json', ...M], work)).stdout).backups as { id: string }[];
      if (listed.length > KEEP || (round % 3 === 2 && listed.length > 0)) {
        const victim = listed[0].id;
        const d = await mobr(['delete', victim, ...M], work, { killAfterMs: Math.floor(100 + rand() * 1500) });
        if (d.signal === 'SIGKILL') {
          killed.delete++;
          // A killed delete is finished by running it again (or it had already finished).
          const after = JSON.parse((await mobrIn(['list', '--json', ...M], work)).stdout).backups as { id: string }[];
          if (after.some((r) => r.id === victim)) {
            const again = await mobrIn(['delete', victim, ...M], work);
            expect(again.code, `${ctx}: retried delete: ${again.stderr}`).toBe(0);
          }
        } else {
          expect(d.code, `${ctx}: ${d.stderr}`).toBe(0);
          killed.deleteDone++;
        }
        expect(await manifestIds(repo), ctx).not.toContain(victim);
        expected.delete(victim);
      }

      // 2b. Every other round, a sync to a mirror repository, killed at a random moment: what
      // the mirror holds is whole (every manifest's files check out against the tree it came
      // from), and running the sync again completes it.
      if (round % 2 === 1) {
        const SYNC = ['sync', '--backup_dir', 'filesystem', '--backup_path', repo, '--target_dir', 'filesystem', '--target_path', mirror, ...M];
        const s = await mobr(SYNC, work, { killAfterMs: Math.floor(100 + rand() * 1500) });
        if (s.signal === 'SIGKILL') killed.sync++;
        else expect(s.code, `${ctx}: sync: ${s.stderr}`).toBe(0);
        await checkMirror(mirror, everSeen, ctx);
        const again = await mobrIn(SYNC, work);
        expect(again.code, `${ctx}: sync again: ${again.stderr}`).toBe(0);
        const mirrored = await manifestIds(mirror);
        for (const id of await manifestIds(repo)) expect(mirrored, `${ctx}: synced`).toContain(id);
        if (round % 4 === 3) await fsp.rm(mirror, { recursive: true, force: true }); // keep it small
      }

      // 3. The catalog parses and every record is a backup in the repository.
      const l = await mobrIn(['list', '--json', ...M], work);
      expect(l.code, `${ctx}: ${l.stderr}`).toBe(0);
      const inRepo = await manifestIds(repo);
      for (const r of JSON.parse(l.stdout).backups as { id: string }[]) expect(inRepo, `${ctx}: catalog record ${r.id}`).toContain(r.id);
      // Unlisted manifests (killed between manifest and catalog) are complete backups: keep the
      // repository small by forgetting them from our expectations once checked below.

      // 4. Every backup in the repository checks out, and each restores byte-identical.
      const c = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
      expect(c.code, `${ctx}: ${c.stderr}`).toBe(0);
      for (const id of inRepo) expect(expected.has(id), `${ctx}: backup ${id} appeared from nowhere`).toBe(true);
      const listedNow = new Set((JSON.parse(l.stdout).backups as { id: string }[]).map((r) => r.id));
      if (inRepo.some((id) => !listedNow.has(id))) {
        // Without an ID, restore takes the newest backup in the repository (listed or not).
        const newest = [...inRepo].sort((a, b2) => uuidTime(b2) - uuidTime(a))[0];
        const dest = path.join(work, `restore-${round}`);
        const r = await mobrIn(['restore', '--backup_dir', 'filesystem', '--backup_path', repo, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
        expect(r.code, `${ctx}: ${r.stderr}`).toBe(0);
        expect(await treeHashes(path.join(dest, 'mo-data')), `${ctx}: restore of the newest backup ${newest}`).toEqual(expected.get(newest));
        expect((await allPaths(dest)).filter((p) => p.includes('mobr-partial')), ctx).toEqual([]);
        await fsp.rm(dest, { recursive: true, force: true });
      }
      // Each listed backup is restored by ID once (check above re-reads all of them every round).
      for (const r of JSON.parse(l.stdout).backups as { id: string }[]) {
        if (restored.has(r.id)) continue;
        const dest = path.join(work, `restore-id-${round}`);
        const res = await mobrIn(['restore', r.id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
        expect(res.code, `${ctx}: restore ${r.id}: ${res.stderr}`).toBe(0);
        expect(await treeHashes(path.join(dest, 'mo-data')), `${ctx}: restore ${r.id}`).toEqual(expected.get(r.id));
        await fsp.rm(dest, { recursive: true, force: true });
        restored.add(r.id);
      }
      // A restore killed at a random moment: whatever it left under a real name is right.
      const listedNowIds = [...listedNow];
      if (round % 2 === 0 && listedNowIds.length > 0) {
        const id = listedNowIds[round % listedNowIds.length];
        const dest = path.join(work, `restore-killed-${round}`);
        // killed once it has begun writing files (then 0-40 ms later), so that it lands mid-way
        const delay = Math.floor(rand() * 40);
        killed.restoreTried++;
        const k = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work, {
          killAfterMs: 60_000,
          onSpawn: (child) => void killOnceWriting(child, path.join(dest, 'mo-data'), delay),
        });
        if (k.signal === 'SIGKILL') {
          killed.restore++;
          if ((await allPaths(dest).catch(() => [])).some((p) => p.startsWith('mo-data/'))) killed.restoreMidway++;
        } else expect(k.code, `${ctx}: restore: ${k.stderr}`).toBe(0);
        const want = expected.get(id)!;
        const got = await treeHashes(path.join(dest, 'mo-data')).catch(() => new Map<string, string>());
        for (const [p, h] of got) if (!p.includes('.mobr-partial-')) expect(h, `${ctx}: killed restore left ${p} with wrong bytes`).toBe(want.get(p));
        await fsp.rm(dest, { recursive: true, force: true });
      }
      // Orphan manifests (complete, unlisted) are removed so the repository stays small.
      const listedIds = new Set((JSON.parse(l.stdout).backups as { id: string }[]).map((r) => r.id));
      for (const id of inRepo) if (!listedIds.has(id)) {
        await fsp.rm(path.join(repo, 'backups', id));
        expected.delete(id);
      }
    }, 60_000);
  }

  it('the next backup works, and the kills really landed mid-way', async () => {
    const last = await mobrIn(BACKUP, work);
    expect(last.code, last.stderr).toBe(0);
    const id = backupIdOf(last.stdout)!;
    // one more restore killed once it writes, whatever the rounds drew: only right bytes stay
    const cut = path.join(work, 'restore-last-killed');
    killed.restoreTried++;
    const k = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', cut, ...M], work, {
      killAfterMs: 60_000,
      onSpawn: (child) => void killOnceWriting(child, path.join(cut, 'mo-data'), 0),
    });
    if (k.signal === 'SIGKILL') {
      killed.restore++;
      if ((await allPaths(cut).catch(() => [])).some((p) => p.startsWith('mo-data/'))) killed.restoreMidway++;
    }
    const whole = await treeHashes(data);
    for (const [p, h] of await treeHashes(path.join(cut, 'mo-data')).catch(() => new Map<string, string>())) {
      if (!p.includes('.mobr-partial-')) expect(h, `killed restore left ${p} with wrong bytes`).toBe(whole.get(p));
    }
    const dest = path.join(work, 'restore-last');
    const r = await mobrIn(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
    expect(r.code, r.stderr).toBe(0);
    expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(await treeHashes(data));
    // Kills must actually have happened mid-way, or this test proves little.
    console.log(`crash rounds=${ROUNDS} seed=${SEED} ${JSON.stringify(killed)}`);
    if (ROUNDS >= 8) expect(killed.backup, JSON.stringify(killed)).toBeGreaterThan(ROUNDS / 3);
    if (ROUNDS >= 4) {
      expect(killed.restoreMidway, `no restore was killed after it began writing: ${JSON.stringify(killed)}`).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('a delete killed between the manifest and the catalog', () => {
  it('is finished by running it again', async () => {
    const dir = path.join(work, 'redelete');
    const M = ['--meta_path', path.join(dir, 'mo_br.meta')];
    await makeMoData(path.join(dir, 'mo-data'), 1, 10_000);
    const b = await mobrIn(['backup', '--backup_dir', 'filesystem', '--path', path.join(dir, 'repo'), '--data_dir', path.join(dir, 'mo-data'), ...M], dir);
    expect(b.code, b.stderr).toBe(0);
    const id = backupIdOf(b.stdout)!;
    await fsp.rm(path.join(dir, 'repo', 'backups', id)); // the state a SIGKILL right after the manifest's removal leaves
    const again = await mobrIn(['delete', id, ...M], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse((await mobrIn(['list', '--json', ...M], dir)).stdout).backups).toEqual([]);
  });
});

/** Every backup in the mirror is whole: its files' bytes check out and match the tree it came from. */
async function checkMirror(mirror: string, everSeen: Map<string, Map<string, string>>, ctx: string): Promise<void> {
  if (!(await fsp.stat(path.join(mirror, 'config')).catch(() => undefined))) return;
  const repo = await Repository.open(new FsStore(mirror));
  const pool = new WorkerPool(2);
  try {
    for (const id of await repo.listBackupIds()) {
      const m = await repo.loadManifest(id);
      const want = everSeen.get(id);
      expect(want, `${ctx}: mirror has unknown backup ${id}`).toBeDefined();
      const files = m.files.filter((f) => f.kind === 'file');
      expect(new Map(files.map((f) => [f.path, toHex(f.sha256!)])), `${ctx}: mirror ${id}`).toEqual(want);
      const report = await verifyBackup(repo, m, { readData: true, pool });
      expect(report.damaged, `${ctx}: mirror ${id}`).toEqual([]);
    }
  } finally {
    await pool.close();
    await repo.close();
  }
}

/** Milliseconds of a version-1 UUID's timestamp (our backup IDs), for ordering. */
function uuidTime(id: string): number {
  const [low, mid, hiv] = id.split('-');
  const t = (BigInt(`0x${hiv.slice(1)}`) << 48n) | (BigInt(`0x${mid}`) << 32n) | BigInt(`0x${low}`);
  return Number((t - 0x01b21dd213814000n) / 10_000n);
}
