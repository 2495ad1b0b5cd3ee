/**
 * `mo_br backup --shares k` and `mo_br backup --join <ID> --share <i>` through ./mo_br, as
 * separate processes at once, against the MatrixOne EMULATOR (spec/scale.md §2):
 * - folder repository: coordinator + two ingesters overlap; the backup checks, restores
 *   byte-exact and the emulator restarts on it with its rows;
 * - an ingester killed mid-share (after it stored packs, before its part) and run again;
 * - a coordinator killed while waiting: no manifest, the late ingester refused, the repository
 *   checks (naming the leftover plan), gc removes the plan and parts;
 * - an S3 repository (s3rver): coordinator + two ingesters, restore, restart;
 * - Ctrl-C: a waiting coordinator, and an ingester mid-share (#25: stops within seconds).
 * Coordinators and ingesters are processes (./mo_br); the steps around them that need no process
 * of their own (check, restore, a rerun or refused late ingester, a coordinator nobody joins, bad
 * input, help) run in this one (mobrIn). Only the cases that stop an ingester mid-share back up
 * the larger server (24 objects, so that it is stopped with most of its share to go); the others
 * back up one of 8.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fsp, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { expectEtaCleared, hasScript, onTerminal } from './helpers/tty.js';
import { ensureBuilt, mobr, mobrIn, ROOT, type Run } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { gc } from '../src/repo/gc.js';
import { until } from './helpers/until.js';
import { sql } from './helpers/mo-target.js';

let work: string;
let emu: Emulator;
let conn: string[];
let small: Emulator; // a third of the data: for the cases that need no share long enough to stop one mid-way
let smallConn: string[];


/** An emulator with 3 rows in shared_db.t and `objects` new objects of 600 KB to 1.2 MB. */
async function seeded(home: string, objects: number): Promise<Emulator> {
  const e = await startEmulator({ home, objectSize: { min: 600_000, max: 1_200_000 } });
  await sql(e, 'create database shared_db');
  await sql(e, 'create table shared_db.t (a int)');
  await sql(e, 'insert into shared_db.t values (1), (2), (3)');
  await e.simulateDay({ newObjects: objects });
  return e;
}
/**
 * Hang guards, not timings: how long a process may run before it is killed (KILL_MS: under the
 * tests' own 100 s) and how long to wait for a step (STEP_MS). At load 15–30 on two cores a
 * process gets a tenth of a core: the old 25 s guard killed a live coordinator while its
 * ingesters still worked, and they then rightly refused ("the coordinator of backup … is gone
 * (its lock … is stale)"; its holder provably dead), and a 20 s wait gave up on a plan not yet
 * printed.
 */
const KILL_MS = 90_000;
const STEP_MS = 40_000;
const connTo = (e: Emulator) => ['--host', e.host, '--port', String(e.port), '--user', 'dump', '--password', '111'];

beforeAll(async () => {
  ensureBuilt();
  work = await fsp.mkdtemp(path.join(tmpdir(), 'mobr-shares-cli-'));
  emu = await seeded(path.join(work, 'mo'), 24);
  conn = connTo(emu);
  small = await seeded(path.join(work, 'mo-small'), 8);
  smallConn = connTo(small);
}, 60_000);
afterAll(async () => {
  await small?.close();
  await emu?.close();
  await fsp.rm(work, { recursive: true, force: true });
});

interface Coordinator {
  done: Promise<Run>;
  child: ChildProcess;
  id: string;
  /** the printed `mo_br backup --join …` commands, as argument lists without `mo_br` */
  joins: string[][];
  /** what it printed up to its plan */
  out: string;
}

/** Starts a coordinator and returns once it printed its plan (the commands for the other shares). */
async function startCoordinator(args: string[], shares: number): Promise<Coordinator> {
  let child!: ChildProcess;
  let out = '';
  const done = mobr(args, ROOT, { killAfterMs: KILL_MS, onSpawn: (p) => (child = p) });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d)); // with --json the commands go to stderr
  const t0 = Date.now();
  const planned = () => out.includes('Run each command once') && (out.match(/ --join .*\n/g) ?? []).length === shares - 1;
  while (!planned()) {
    const ended = await Promise.race([done.then((r) => r), new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
    if (ended) throw new Error(`coordinator ended before planning: ${ended.code} ${ended.stderr}`);
    if (Date.now() - t0 > STEP_MS) throw new Error(`no plan printed: ${out}`);
  }
  return { done, child, out, ...planOf(out) };
}

/** The backup ID and the `mo_br backup --join …` commands a coordinator printed (as argument lists without `mo_br`). */
function planOf(out: string): { id: string; joins: string[][] } {
  const joins = [...out.matchAll(/^ {4}mo_br (backup --join .*?)\s+# .*$/gm)].map((m) => m[1]!.split(/\s+/));
  return { id: /backup --join (\S+)/.exec(out)![1]!, joins };
}

const countIn = (dir: string): number => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.includes('.tmp-')).length : 0);

/**
 * Runs the printed ingester commands at once and proves they overlapped: each stops after storing
 * its share, before writing its part (MOBR_TEST_SHARE_PAUSE), and only once every one of them has
 * reached that point are they let go; so every ingester was mid-backup while the others were.
 */
async function runIngestersTogether(joins: string[][], extra: string[], tag: string): Promise<Run[]> {
  const pauses = joins.map((_, i) => path.join(work, `pause-${tag}-${i}`));
  const runs = joins.map((j, i) => mobr([...j, ...extra], ROOT, { killAfterMs: KILL_MS, env: { MOBR_TEST_SHARE_PAUSE: pauses[i] } }));
  const ended: Run[] = [];
  for (const r of runs) void r.then((x) => ended.push(x));
  await until(() => ended.length > 0 || pauses.every((f) => existsSync(f)), STEP_MS, 'every ingester to store its share');
  expect(ended.map((r) => `exit ${r.code}: ${r.stderr}`), 'an ingester ended before every share was stored').toEqual([]);
  for (const f of pauses) rmSync(f);
  return Promise.all(runs);
}

/** Returns once the coordinator logged that it read its own share and now only waits (--log_file). */
async function ownShareStored(log: string): Promise<void> {
  await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('msg="waiting for shares"'), STEP_MS, 'the coordinator to wait for the other shares');
}

/** A coordinator of 2 shares on a new repository of small packs (many stored mid-share), its own share stored, waiting for share 2. */
async function coordinatorWaiting(repoName: string, metaName: string, logName: string) {
  const repo = path.join(work, repoName);
  const r = await Repository.init(new FsStore(repo), { packSize: 256 << 10 });
  await r.close();
  const meta = ['--meta_path', path.join(work, metaName)];
  const log = path.join(work, logName);
  const c = await startCoordinator(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--log_file', log, '--log_level', 'info', ...meta], 2);
  await ownShareStored(log);
  return { repo, meta, c, packsBefore: countIn(path.join(repo, 'data')) };
}

/** Every restored TAE object that the running server still has is the same bytes. */
function sameObjects(restoredHome: string, liveHome = path.join(work, 'mo')): number {
  const live = path.join(liveHome, 'mo-data', 'shared');
  const got = path.join(restoredHome, 'mo-data', 'shared');
  let same = 0;
  for (const e of readdirSync(got, { withFileTypes: true })) {
    if (!e.isFile() || !existsSync(path.join(live, e.name))) continue;
    expect(readFileSync(path.join(got, e.name)).equals(readFileSync(path.join(live, e.name))), e.name).toBe(true);
    same++;
  }
  return same;
}

async function restartAndCount(home: string): Promise<number> {
  const again = await startEmulator({ home });
  try {
    return Number(Object.values((await sql(again, 'select count(*) from shared_db.t'))[0]!)[0]);
  } finally {
    await again.close();
  }
}

describe('a server backup in shares, separate processes', () => {
  it('folder: coordinator + two ingesters at once; the backup checks, restores byte-exact, the server restarts on it', async () => {
    const repo = path.join(work, 'repo-fs');
    const meta = ['--meta_path', path.join(work, 'fs.meta')];
    const c = await startCoordinator(['backup', ...smallConn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '3', ...meta], 3);
    expect(c.joins.map((j) => j.slice(0, 6))).toEqual([1, 2].map((i) => ['backup', '--join', c.id, '--share', String(i), '--backup_dir']));
    expect(c.joins[0]!.slice(6)).toEqual(['filesystem', '--path', repo]);
    const ingesters = await runIngestersTogether(c.joins, ['--json', '--parallelism', '1'], 'fs');
    const coord = await c.done;
    for (const r of [...ingesters, coord]) expect(r.code, r.stderr).toBe(0);
    expect(coord.stdout).toMatch(new RegExp(`Backup ID\\n {4}${c.id}\\n`));
    // they overlapped (runIngestersTogether): each wrote its part after the other had started its share
    const [a, b] = ingesters.map((r) => JSON.parse(r.stdout) as { schema: string; share: number; files: number; startedAt: string; completedAt: string });
    expect([a!.schema, a!.share, b!.share]).toEqual(['mobr.share.v1', 1, 2]);
    expect(a!.files).toBeGreaterThan(0);
    console.log(`shares overlap (folder): share 1 ${a!.startedAt}..${a!.completedAt}, share 2 ${b!.startedAt}..${b!.completedAt}; coordinator ${coord.ms} ms`);
    expect(Date.parse(a!.completedAt)).toBeGreaterThan(Date.parse(b!.startedAt));
    expect(Date.parse(b!.completedAt)).toBeGreaterThan(Date.parse(a!.startedAt));
    for (const d of ['plans', 'parts', 'staging', 'locks']) expect(countIn(path.join(repo, d)), d).toBe(0);

    const check = await mobrIn(['check', c.id, ...meta], ROOT);
    expect(check.code, check.stderr).toBe(0);
    const home = path.join(work, 'restored-fs');
    const restore = await mobrIn(['restore', c.id, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
    expect(restore.code, restore.stderr).toBe(0);
    expect(sameObjects(home, path.join(work, 'mo-small'))).toBeGreaterThanOrEqual(8);
    expect(await restartAndCount(home)).toBe(3);
  }, 100_000);

  it('an ingester killed mid-share leaves no part; run again, the backup completes and checks', async () => {
    const { repo, meta, c, packsBefore } = await coordinatorWaiting('repo-kill', 'kill.meta', 'kill-ingester.log');
    let packsAtKill = 0;
    const killed = await mobr([...c.joins[0]!, '--parallelism', '1'], ROOT, {
      killAfterMs: KILL_MS,
      onSpawn: (p) => void until(() => countIn(path.join(repo, 'data')) >= packsBefore + 3, STEP_MS, 'the ingester to store packs').then(() => {
        packsAtKill = countIn(path.join(repo, 'data'));
        p.kill('SIGKILL');
      }),
    });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect(packsAtKill).toBeGreaterThanOrEqual(packsBefore + 3);
    expect(countIn(path.join(repo, 'parts')), 'a killed ingester wrote no part').toBe(0);
    expect(countIn(path.join(repo, 'backups'))).toBe(0);

    const rerunLog = path.join(work, 'rerun.log');
    const rerun = await mobrIn([...c.joins[0]!, '--log_file', rerunLog, '--log_level', 'info'], ROOT); // beside the coordinator's process
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(readFileSync(rerunLog, 'utf8')).toMatch(new RegExp(`level=info command=backup msg="share stored" backup=${c.id} share=1 files=\\d+ bytes=\\d+ added_bytes=\\d+ started=\\S+ completed=\\S+`));
    expect(rerun.stdout).toMatch(new RegExp(`^Share\\n {4}1 of 2 of backup ${c.id}: \\d+ files`));
    const coord = await c.done;
    expect(coord.code, coord.stderr).toBe(0);
    const check = await mobrIn(['check', c.id, ...meta], ROOT);
    expect(check.code, check.stderr).toBe(0);
    expect(countIn(path.join(repo, 'plans')) + countIn(path.join(repo, 'parts'))).toBe(0);
  }, 100_000);

  it('a coordinator killed while waiting leaves no manifest; a late ingester is refused; check names the plan; gc removes it', async () => {
    const repo = path.join(work, 'repo-kill'); // holds the backup of the previous test
    const meta = ['--meta_path', path.join(work, 'kill.meta')];
    const before = readdirSync(path.join(repo, 'backups'));
    expect(before).toHaveLength(1);
    let stdout = '';
    const log = path.join(work, 'kill-coordinator.log');
    const c = await startCoordinator(['backup', ...smallConn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--json', '--log_file', log, '--log_level', 'info', ...meta], 2);
    c.child.stdout!.on('data', (d) => (stdout += d));
    await ownShareStored(log); // now it only waits for share 1
    c.child.kill('SIGKILL');
    const coord = await c.done;
    expect(coord.signal).toBe('SIGKILL');
    expect(stdout, 'with --json, stdout is only the JSON document (the commands went to stderr)').toBe('');
    expect(coord.stderr).toContain(`mo_br backup --join ${c.id} --share 1 --backup_dir filesystem --path ${repo}`);
    expect(readdirSync(path.join(repo, 'backups'))).toEqual(before);
    expect(countIn(path.join(repo, 'plans'))).toBe(1);

    const late = await mobrIn(c.joins[0]!, ROOT);
    expect(late.code).toBe(3);
    expect(late.stderr).toMatch(new RegExp(`^mo_br: the coordinator of backup ${c.id} is gone .*; nothing to join, run the whole backup again\\n$`));
    const check = await mobrIn(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...meta], ROOT);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`check: plans/${c.id}: left by a backup in shares whose coordinator is gone (no manifest names it; gc removes it)\n`);

    const store = new FsStore(repo);
    const r = await Repository.open(store);
    try {
      const report = await gc(r);
      expect(report.leftoversDeleted).toBeGreaterThanOrEqual(1);
    } finally {
      await r.close();
    }
    expect(countIn(path.join(repo, 'plans')) + countIn(path.join(repo, 'parts'))).toBe(0);
    const again = await mobrIn(['check', before[0]!, ...meta], ROOT);
    expect(again.code, again.stderr).toBe(0);
  }, 100_000);
});

describe('--join pending (an Indexed Job: every pod starts at once, none knows the ID)', () => {
  it.skipIf(!hasScript)('a share started before the coordinator joins its backup, which commits; share and export show an ETA on a terminal', async () => {
    const repo = path.join(work, 'repo-pending');
    await (await Repository.init(new FsStore(repo))).close(); // last night's repository
    const meta = ['--meta_path', path.join(work, 'pending.meta')];
    // the share starts first, with no plan in the repository yet; it polls for one (every second)
    const joiner = onTerminal(['backup', '--join', 'pending', '--share', '1', '--backup_dir', 'filesystem', '--path', repo], ROOT, { MO_BR_JOIN_WAIT_MS: '60000' });
    const c = await startCoordinator(['backup', ...smallConn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--shares_timeout', '60s', ...meta], 2);
    const [j, coord] = await Promise.all([joiner, c.done]);
    expect(j.code, j.out).toBe(0);
    expect(j.out).toMatch(new RegExp(`Share\\r\\n {4}1 of 2 of backup ${c.id}: \\d+ files, `));
    expectEtaCleared(j.out, 'share 1');
    expect(coord.code, coord.stderr).toBe(0);
    expect(coord.stdout).toMatch(new RegExp(`Backup ID\\n {4}${c.id}\\n`));
    for (const d of ['plans', 'parts', 'staging']) expect(countIn(path.join(repo, d)), d).toBe(0);
    const x = await onTerminal(['export', c.id, '--path', path.join(work, 'exported-pending'), ...meta], ROOT);
    expect(x.code, x.out).toBe(0);
    expectEtaCleared(x.out, 'export');
    expect(x.out).toMatch(/export file num: \d+/);
  }, 120_000);
});

describe('Ctrl-C', () => {
  it('a coordinator stopped by SIGINT while waiting: exit 130, one line, no manifest, no plan, part, staging or lock left', async () => {
    const repo = path.join(work, 'repo-int');
    const meta = ['--meta_path', path.join(work, 'int.meta')];
    const log = path.join(work, 'int.log');
    const c = await startCoordinator(['backup', ...smallConn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--log_file', log, '--log_level', 'info', ...meta], 2);
    await ownShareStored(log);
    c.child.kill('SIGINT');
    const r = await c.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const d of ['backups', 'plans', 'parts', 'staging', 'locks']) expect(countIn(path.join(repo, d)), d).toBe(0);
    const late = await mobrIn(c.joins[0]!, ROOT);
    expect(late.code).toBe(3);
    expect(late.stderr).toMatch(/no backup \S+ is waiting for shares/);
  }, 100_000);

  it('an ingester stopped by SIGINT mid-share: exit 130 within seconds, one line, no part, only the coordinator\'s lock left; run again, the backup commits and checks', async () => {
    const { repo, meta, c, packsBefore } = await coordinatorWaiting('repo-int-join', 'int-join.meta', 'int-join.log');
    let packsAtInt = 0;
    let intAt = 0;
    const stopped = await mobr([...c.joins[0]!, '--parallelism', '1'], ROOT, {
      killAfterMs: KILL_MS,
      onSpawn: (p) => void until(() => countIn(path.join(repo, 'data')) >= packsBefore + 3, STEP_MS, 'the ingester to store packs').then(() => {
        packsAtInt = countIn(path.join(repo, 'data'));
        intAt = Date.now();
        p.kill('SIGINT');
      }),
    });
    const tookMs = Date.now() - intAt;
    expect(packsAtInt, 'the SIGINT landed after the ingester stored packs').toBeGreaterThanOrEqual(packsBefore + 3);
    expect([stopped.code, stopped.signal], stopped.stderr).toEqual([130, null]);
    expect(stopped.stderr.trim().split('\n'), stopped.stderr).toHaveLength(1);
    expect(tookMs, 'stopped on the first Ctrl-C, not at the end of the share (a step\'s hang guard, not a timing: no part written is the proof)').toBeLessThan(STEP_MS);
    expect(countIn(path.join(repo, 'parts')), 'a stopped ingester wrote no part').toBe(0);
    expect(countIn(path.join(repo, 'backups'))).toBe(0);
    expect(countIn(path.join(repo, 'locks')), 'the ingester removed its lock; the waiting coordinator keeps its own').toBe(1);

    const rerun = await mobrIn(c.joins[0]!, ROOT); // beside the coordinator's process
    expect(rerun.code, rerun.stderr).toBe(0);
    const coord = await c.done;
    expect(coord.code, coord.stderr).toBe(0);
    const check = await mobrIn(['check', c.id, ...meta], ROOT);
    expect(check.code, check.stderr).toBe(0);
    for (const d of ['plans', 'parts', 'staging', 'locks']) expect(countIn(path.join(repo, d)), d).toBe(0);
  }, 100_000);
});

describe('--shares_timeout', () => {
  it('nobody runs the other share: one line naming it, exit 5, cleaned up as on Ctrl-C; help and completion list the flag', async () => {
    const repo = path.join(work, 'repo-timeout');
    const meta = ['--meta_path', path.join(work, 'timeout.meta')];
    const r = await mobrIn(['backup', ...smallConn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--shares_timeout', '1s', ...meta], ROOT);
    const c = planOf(r.stdout + r.stderr);
    expect(c.joins).toHaveLength(1);
    expect(r.code, r.stderr).toBe(5);
    // the ID is matched loosely: the password (111) is masked wherever it appears in a line, even inside an ID
    expect(r.stderr).toMatch(/^mo_br: backup \S+: share 1 of 2 did not arrive within --shares_timeout 1s; nothing was written, run the whole backup again\n$/);
    for (const d of ['backups', 'plans', 'parts', 'staging', 'locks']) expect(countIn(path.join(repo, d)), d).toBe(0);
    const late = await mobrIn(c.joins[0]!, ROOT);
    expect(late.code).toBe(3);
    const bad = await mobrIn(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, '--shares', '2', '--shares_timeout', 'soon', ...meta], ROOT);
    expect([bad.code, bad.stderr]).toEqual([2, 'mo_br: --shares_timeout wants a duration such as 6h, 90m or 45s, not "soon"\n']);
    const alone = await mobrIn(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, '--shares_timeout', '1s', ...meta], ROOT);
    expect([alone.code, alone.stderr]).toEqual([2, 'mo_br: --shares_timeout goes with --shares <k>\n']);
    const help = await mobrIn(['backup', '--help'], ROOT);
    expect(help.stdout).toMatch(/--shares_timeout <duration>\s+with --shares: give up/);
    const completion = await mobrIn(['completion', 'bash'], ROOT);
    expect(completion.stdout).toContain('--shares_timeout');
  }, 100_000);
});

describe('bad input', () => {
  it('is one line and exit 2 (3 for a backup nobody waits for), before anything is written', async () => {
    const repo = path.join(work, 'repo-bad');
    const r0 = await Repository.init(new FsStore(repo));
    await r0.close();
    const at = ['--backup_dir', 'filesystem', '--path', repo];
    const U = '25536ff0-126f-11ef-9902-26dd28356ef3';
    const cases: [string[], number, RegExp][] = [
      [['backup', '--data_dir', work, ...at, '--shares', '2'], 2, /--shares is for a backup of a running MatrixOne/],
      [['backup', ...conn, ...at, '--shares', '0'], 2, /bad --shares "0"/],
      [['backup', ...conn, ...at, '--shares', '2', '--dry_run'], 2, /--shares cannot be combined with --dry_run/],
      [['backup', ...at, '--share', '1'], 2, /--share goes with --join/],
      [['backup', ...at, '--join', 'b/1', '--share', '1'], 2, /bad backup ID/],
      [['backup', ...at, '--join', U], 2, /missing --share/],
      [['backup', ...at, '--join', U, '--share', '1', '--host', '127.0.0.1'], 2, /--join takes no --host/],
      [['backup', ...at, '--join', U, '--share', '0'], 2, /bad --share "0"/],
      [['backup', ...at, '--join', U, '--share', '1'], 3, /^mo_br: no backup 25536ff0-126f-11ef-9902-26dd28356ef3 is waiting for shares in filesystem /],
    ];
    const runs = await Promise.all(cases.map(([args]) => mobrIn(args, ROOT)));
    cases.forEach(([args, code, msg], i) => {
      const r = runs[i]!;
      expect([r.code, r.stderr.split('\n').length], `${args.join(' ')}: ${r.stderr}`).toEqual([code, 2]);
      expect(r.stderr).toMatch(msg);
    });
    expect(readdirSync(repo).sort()).toEqual(['config', 'locks']);
    expect(countIn(path.join(repo, 'locks'))).toBe(0);
  }, 100_000);
});

describe('a server backup in shares into S3 (s3rver)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server();
  }, 100_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('coordinator + two ingesters; restore byte-exact; the server restarts on it', async () => {
    const keys = ['--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey];
    const meta = ['--meta_path', path.join(work, 's3.meta')];
    const where = ['--backup_dir', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--filepath', 'cluster1'];
    const c = await startCoordinator(['backup', ...smallConn, ...where, ...keys, '--shares', '3', ...meta], 3);
    expect(c.joins[0]!.slice(5)).toEqual(where);
    expect(c.out).toContain('(each with the same S3 keys as this backup: --access_key_id and --secret_access_key)');
    const ingesters = await runIngestersTogether(c.joins, [...keys, '--json'], 's3');
    const coord = await c.done;
    for (const r of [...ingesters, coord]) expect(r.code, r.stderr).toBe(0);
    for (const r of [...ingesters, coord]) expect(r.stdout + r.stderr).not.toContain(s3.secretAccessKey);
    const [a, b] = ingesters.map((r) => JSON.parse(r.stdout) as { startedAt: string; completedAt: string });
    console.log(`shares overlap (s3): share 1 ${a!.startedAt}..${a!.completedAt}, share 2 ${b!.startedAt}..${b!.completedAt}; coordinator ${coord.ms} ms`);
    expect(Date.parse(a!.completedAt)).toBeGreaterThan(Date.parse(b!.startedAt));
    expect(Date.parse(b!.completedAt)).toBeGreaterThan(Date.parse(a!.startedAt));
    const left = readdirSync(path.join(s3.directory), { recursive: true }).map(String).filter((k) => /cluster1\/(plans|parts|staging)\//.test(k) && k.endsWith('._S3rver_object'));
    expect(left).toEqual([]);

    const home = path.join(work, 'restored-s3');
    const restore = await mobrIn(['restore', c.id, '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
    expect(restore.code, restore.stderr).toBe(0);
    expect(sameObjects(home, path.join(work, 'mo-small'))).toBeGreaterThanOrEqual(8);
    expect(await restartAndCount(home)).toBe(3);
  }, 100_000);
});
