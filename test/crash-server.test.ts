/**
 * Crash safety of a server backup (spec/reliability.md §1): `./mo_br backup --host` against the
 * MatrixOne emulator, SIGKILLed once the server has begun writing its staging folder. After every
 * kill the catalog parses, `check` passes for every backup the repository holds, and the next
 * backup works. Rounds: a third of MOBR_CRASH_ROUNDS (default 10), at least 2; seed: MOBR_SEED.
 * (Split from crash.test.ts so the two long files run at once.) The backups killed run as
 * ./mo_br processes of their own; list and check, which judge what a kill left, run in this
 * process (mobrIn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './helpers/tree.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { SEED, backupIdOf, ensureBuilt, initTinyRepo, killOnceWriting, mobr, rng } from './reliability/cli.js';
import { mobrIn } from './helpers/cli.js';

const ROUNDS = Number(process.env.MOBR_CRASH_ROUNDS ?? 10);
const SERVER_ROUNDS = Math.max(2, Math.floor(ROUNDS / 3));

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-crash-server-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

describe(`SIGKILL during a backup from a running MatrixOne (${SERVER_ROUNDS} rounds, seed ${SEED})`, () => {
  const rand = rng(SEED + 5);
  const env = { MO_BR_PASSWORD: '111' };
  let dir: string;
  let repo: string;
  let M: string[];
  let BACKUP: string[];
  let emu: Emulator;
  let lastMs = 0;
  let kills = 0;
  let leftovers = 0;
  beforeAll(async () => {
    dir = path.join(work, 'server');
    emu = await startEmulator({ home: path.join(dir, 'mo'), objectSize: { min: 200_000, max: 400_000 } });
    await emu.simulateDay({ newObjects: 30 });
    repo = path.join(dir, 'repo');
    await fsp.mkdir(repo, { recursive: true });
    await initTinyRepo(repo);
    M = ['--meta_path', path.join(dir, 'mo_br.meta')];
    BACKUP = ['backup', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--backup_dir', 'filesystem', '--path', repo, ...M];
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('a first server backup runs whole', async () => {
    const first = await mobr(BACKUP, dir, { env });
    expect(first.code, first.stderr).toBe(0);
    lastMs = first.ms;
  }, 120_000);

  for (let round = 0; round < SERVER_ROUNDS; round++) {
    it(`round ${round}: a killed server backup leaves earlier backups checkable and the catalog valid`, async () => {
      const ctx = `server round ${round} (seed ${SEED})`;
      await emu.simulateDay({ newObjects: 8 });
      // killed once the server has begun writing its staging folder, then within a third of the
      // last whole server backup's length (re-learnt: later ones reuse more), so it lands mid-way
      const delay = Math.floor(rand() * Math.max(10, lastMs / 3));
      const b = await mobr(BACKUP, dir, { env, killAfterMs: 100_000, onSpawn: (child) => void killOnceWriting(child, path.join(repo, 'staging'), delay) });
      if (b.signal === 'SIGKILL') kills++;
      else {
        expect(b.code, `${ctx}: ${b.stderr}`).toBe(0);
        lastMs = b.ms;
      }
      const l = await mobrIn(['list', '--json', ...M], dir);
      expect(l.code, `${ctx}: ${l.stderr}`).toBe(0);
      const c = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], dir);
      expect(c.code, `${ctx}: ${c.stderr}`).toBe(0);
      leftovers = (await fsp.readdir(path.join(repo, 'staging')).catch(() => [])).length;
    }, 120_000);
  }

  it('the next server backup works, and the kills really landed mid-way', async () => {
    const last = await mobr(BACKUP, dir, { env });
    expect(last.code, last.stderr).toBe(0);
    const c = await mobrIn(['check', backupIdOf(last.stdout)!, ...M], dir);
    expect(c.code, c.stderr).toBe(0);
    // A killed server backup leaves its staging folder (MatrixOne's copy) behind; reported, not asserted.
    console.log(`server crash: kills ${kills}, staging folders left by killed backups: ${leftovers}`);
    expect(kills, 'no server backup was killed mid-way: the test proved nothing').toBeGreaterThan(0);
  }, 120_000);
});
