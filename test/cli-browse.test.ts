/**
 * ls, find, diff, dump, restore --include/--exclude, --dry_run and stats --html through ./mo_br
 * (spec/browse.md): golden text for ls/find/diff (test/golden/browse-*.txt), JSON for the rest,
 * dump byte-identical (and stopping before a damaged chunk), by ID with a catalog and by the
 * repository's place without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, chmodSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { pseudoRandom } from './helpers/tree.js';

const goldenFile = (name: string) => new URL(`./golden/${name}`, import.meta.url);
/** Compares with test/golden/<name>; MOBR_UPDATE_GOLDEN=1 rewrites it instead (then read the diff). */
function expectGolden(actual: string, name: string): void {
  if (process.env.MOBR_UPDATE_GOLDEN === '1') writeFileSync(goldenFile(name), actual);
  expect(actual).toBe(readFileSync(goldenFile(name), 'utf8'));
}
const T1 = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
const T2 = Date.UTC(2026, 0, 3, 4, 5, 6) / 1000;

/** Version 1 of a small mo-data, every byte, mode and mtime fixed. */
function writeV1(root: string): void {
  mkdirSync(path.join(root, 'shared/ckp'), { recursive: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  writeFileSync(path.join(root, 'shared/018f7a41-1881-7999-bbd6-858c3d4acc10_00000'), pseudoRandom(1, 3_000_000));
  writeFileSync(path.join(root, 'shared/018f7a41-1881-7999-bbd6-858c3d4acc11_00000'), pseudoRandom(2, 200_000));
  writeFileSync(path.join(root, 'shared/ckp/meta_0-1.ckp'), pseudoRandom(3, 10_000, true));
  writeFileSync(path.join(root, 'etc/tn.toml'), '[tn]\nuuid = "dd4dccb4"\n');
  writeFileSync(path.join(root, 'empty'), '');
  symlinkSync('etc/tn.toml', path.join(root, 'tn-link'));
  chmodSync(path.join(root, 'etc/tn.toml'), 0o600);
  settle(root, T1);
}

/** Version 2: one object merged away, one new, the checkpoint grown, a mode changed. */
function writeV2(root: string): void {
  rmSync(path.join(root, 'shared/018f7a41-1881-7999-bbd6-858c3d4acc11_00000'));
  writeFileSync(path.join(root, 'shared/018f7a41-1881-7999-bbd6-858c3d4acc12_00000'), pseudoRandom(4, 150_000));
  writeFileSync(path.join(root, 'shared/ckp/meta_0-1.ckp'), Buffer.concat([pseudoRandom(3, 10_000, true), pseudoRandom(5, 500)]));
  chmodSync(path.join(root, 'etc/tn.toml'), 0o640);
  settle(root, T1);
  for (const f of ['shared/018f7a41-1881-7999-bbd6-858c3d4acc12_00000', 'shared/ckp/meta_0-1.ckp', 'shared/ckp', 'shared']) utimesSync(path.join(root, f), T2, T2);
}

/** Every entry's mtime set to t (links too), folders last. */
function settle(root: string, t: number): void {
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      if (e.isSymbolicLink()) lutimesSync(p, t, t);
      else utimesSync(p, t, t);
    }
  };
  walk(root);
  utimesSync(root, t, t);
}

function treeFiles(dir: string): Map<string, { data: string; mode: number }> {
  const out = new Map<string, { data: string; mode: number }>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), { data: readFileSync(p).toString('base64'), mode: statSync(p).mode & 0o7777 });
    }
  };
  walk(dir);
  return out;
}

const backupId = (stdout: string) => /^Backup ID\n {4}([0-9a-f-]{36})\n$/.exec(stdout)![1];
const oneLine = (stderr: string) => expect(stderr).toMatch(/^mo_br: [^\n]+\n$/);

let work: string;
let id1: string;
let id2: string;
const M = () => ['--meta_path', path.join(work, 'mo_br.meta')];
const AT = () => ['--backup_dir', 'filesystem', '--backup_path', path.join(work, 'repo'), '--meta_path', path.join(work, 'none.meta')];
const mo = (args: string[]) => mobr(args, work);

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-browse-'));
  writeV1(path.join(work, 'mo-data'));
  const b1 = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M()]);
  expect(b1.code, b1.stderr).toBe(0);
  id1 = backupId(b1.stdout);
  mkdirSync(path.join(work, 'v1'));
  writeV1(path.join(work, 'v1/mo-data'));
  writeV2(path.join(work, 'mo-data'));
  const b2 = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M()]);
  expect(b2.code, b2.stderr).toBe(0);
  id2 = backupId(b2.stdout);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ls', () => {
  it('plain and --long (golden), by ID and by the repository alone', async () => {
    const plain = await mo(['ls', id1, ...M()]);
    expect(plain.stderr).toBe('');
    expectGolden(plain.stdout, 'browse-ls.txt');
    const long = await mo(['ls', id1, '--long', ...AT()]);
    expect(long.code, long.stderr).toBe(0);
    expectGolden(long.stdout, 'browse-ls-long.txt');
    const under = await mo(['ls', id2, 'shared/ckp', '--long', ...M()]);
    expect(under.stdout).toBe(['MODE         SIZE  MTIME                     PATH', 'drwxr-xr-x      0  2026-01-03T04:05:06.000Z  shared/ckp/', '-rw-r--r--  10500  2026-01-03T04:05:06.000Z  shared/ckp/meta_0-1.ckp', ''].join('\n'));
  });

  it('--json: schema first, sizes in bytes, ISO times, octal modes', async () => {
    const r = await mo(['ls', id2, '--json', ...AT()]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)[0]).toBe('schema');
    expect(j.schema).toBe('mobr.ls.v1');
    expect(j.backup).toMatchObject({ id: id2, type: 'full', source: 'cold', files: 5 });
    // one vocabulary (#24.6): a backup's size is its total, as in stats and the summary; logicalSize, v1's name, kept
    expect(j.backup.totalBytes).toBeGreaterThan(0);
    expect(j.backup.totalBytes).toBe(j.backup.logicalSize);
    expect(j.entries.find((e: { path: string }) => e.path === 'etc/tn.toml')).toEqual({
      path: 'etc/tn.toml', kind: 'file', size: 23, mode: '0640', mtime: '2026-01-02T03:04:05.000Z', sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(j.entries.find((e: { path: string }) => e.path === 'tn-link')).toMatchObject({ kind: 'symlink', target: 'etc/tn.toml' });
  });

  it('errors: one line, documented exit codes', async () => {
    const cases: [string[], number, RegExp][] = [
      [['ls', 'no/pe', ...M()], 2, /bad backup ID/],
      [['ls', '25536ff0-126f-11ef-9902-26dd28356ef3', ...M()], 3, /no backup with ID/],
      [['ls', '25536ff0-126f-11ef-9902-26dd28356ef3', ...AT()], 3, /no backup with ID 25536ff0.* in BackupDir: filesystem/],
      [['ls', id1, 'no/such', ...M()], 3, /has no path no\/such/],
      [['ls', id1, '--backup_dir', 'filesystem', '--backup_path', path.join(work, 'mo-data')], 3, /no mobr repository/],
      [['find', '[ab', ...M()], 2, /bad glob/],
      [['dump', id1, 'shared', ...M()], 2, /is a folder/],
      [['dump', id1, 'nope', ...M()], 3, /has no file nope/],
    ];
    const runs = await Promise.all(cases.map(([args]) => mo(args)));
    for (const [i, [args, code, says]] of cases.entries()) {
      const r = runs[i];
      expect([r.code, r.stderr], args.join(' ')).toEqual([code, expect.stringMatching(says)]);
      oneLine(r.stderr);
      expect(r.stdout).toBe('');
    }
  });
});

describe('find and diff', () => {
  const scrub = (s: string) => s.replaceAll(id1, '<ID1>').replaceAll(id2, '<ID2>').replaceAll(path.join(work, 'repo'), '<REPO>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)?  /g, (m) => (m.endsWith(')  ') ? '<TIME>)  ' : '<TIME>  ')).replace(/\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '(<TIME>)');

  it('find: newest first, golden; --json lists the backups holding a match', async () => {
    const r = await mo(['find', '*_00000', ...M()]);
    expect(r.code, r.stderr).toBe(0);
    expectGolden(scrub(r.stdout), 'browse-find.txt');
    const j = JSON.parse((await mo(['find', '*acc11_*', '--json', ...AT()])).stdout);
    expect(j.schema).toBe('mobr.find.v1');
    expect(j.backups.map((b: { id: string }) => b.id)).toEqual([id1]);
    expect(j.backups[0].entries.map((e: { path: string }) => e.path)).toEqual(['shared/018f7a41-1881-7999-bbd6-858c3d4acc11_00000']);
    const none = await mo(['find', '/nothing/**', ...M()]);
    expect([none.code, none.stdout]).toEqual([0, 'no backup holds a path matching /nothing/** (2 searched)\n']);
  });

  it('diff: golden text; --json with the bytes the second backup added', async () => {
    const r = await mo(['diff', id1, id2, ...M()]);
    expect(r.code, r.stderr).toBe(0);
    // the stored size depends on the zstd encoder that loaded (native or WASM): the text must say
    // what --json says, and the golden text holds <STORED> in its place
    const j = JSON.parse((await mo(['diff', id1, id2, '--json', ...AT()])).stdout);
    expect(r.stdout).toContain(`: ${j.repository.addedStoredBytes} bytes stored (`);
    expectGolden(scrub(r.stdout).replace(/: \d+ bytes stored \(/, ': <STORED> bytes stored ('), 'browse-diff.txt');
    expect(j.schema).toBe('mobr.diff.v2'); // "new", as the text says; v1 (--json_version 1) called them "added"
    expect(j.added).toBeUndefined();
    expect(j.new.map((e: { path: string }) => e.path)).toEqual(['shared/018f7a41-1881-7999-bbd6-858c3d4acc12_00000']);
    const v1 = JSON.parse((await mo(['diff', id1, id2, '--json', '--json_version', '1', ...AT()])).stdout);
    expect([v1.schema, v1.new, v1.added]).toEqual(['mobr.diff.v1', undefined, j.new]);
    expect(v1.repository).toEqual(j.repository);
    expect(j.removed.map((e: { path: string }) => e.path)).toEqual(['shared/018f7a41-1881-7999-bbd6-858c3d4acc11_00000']);
    expect(j.changed.map((c: { path: string; what: string }) => [c.path, c.what])).toEqual([['etc/tn.toml', 'metadata'], ['shared/ckp/meta_0-1.ckp', 'content']]);
    // the new object is random bytes (stored as is); the grown checkpoint's changed chunk is new too
    expect(j.repository.addedRawBytes).toBeGreaterThanOrEqual(150_000);
    expect(j.repository.addedStoredBytes).toBeGreaterThanOrEqual(150_000);
    expect(j.repository.olderBackups).toEqual([id1]);
    // the reverse: the first backup is the oldest, so everything it names is its own addition
    const back = JSON.parse((await mo(['diff', id2, id1, '--json', ...M()])).stdout);
    expect(back.repository.olderBackups).toEqual([]);
    expect(back.repository.addedRawBytes).toBe(3_000_000 + 200_000 + 10_000 + 23);
  });
});

describe('dump', () => {
  it('writes files byte-identical (several chunks, one, none), by ID and by the repository alone', async () => {
    const picks: [string, string, string][] = [
      [id1, 'v1/mo-data', 'shared/018f7a41-1881-7999-bbd6-858c3d4acc10_00000'],
      [id1, 'v1/mo-data', 'shared/018f7a41-1881-7999-bbd6-858c3d4acc11_00000'],
      [id2, 'mo-data', 'shared/ckp/meta_0-1.ckp'],
      [id2, 'mo-data', 'empty'],
      [id2, 'mo-data', '/etc/tn.toml'],
    ];
    const runs = await Promise.all(picks.map(([id, , f]) => mobrBytes(['dump', id, f, ...(id === id1 ? M() : AT())])));
    picks.forEach(([id, root, f], i) => {
      expect(runs[i].code, runs[i].stderr).toBe(0);
      expect(runs[i].stdout.equals(readFileSync(path.join(work, root, f))), `${id} ${f}`).toBe(true);
    });
  });

  it('a reader that goes away (dump | head -c 100) ends it quietly, exit 0', async () => {
    const { spawn } = await import('node:child_process');
    const { MO_BR } = await import('./helpers/cli.js');
    const r = await new Promise<{ code: number | null; stderr: string; got: number }>((resolve) => {
      const p = spawn(process.execPath, [MO_BR, 'dump', id1, 'shared/018f7a41-1881-7999-bbd6-858c3d4acc10_00000', ...M()], { cwd: work });
      let got = 0;
      let stderr = '';
      p.stdout.once('data', (d: Buffer) => {
        got = d.length;
        p.stdout.destroy();
      });
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr, got }));
    });
    expect(r.got).toBeGreaterThan(0);
    expect(r.got).toBeLessThan(3_000_000);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('a damaged chunk: stops before its bytes, one line, exit 6', async () => {
    const dir = path.join(work, 'dmg');
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    const data = pseudoRandom(9, 4_000_000);
    writeFileSync(path.join(dir, 'src/big'), data);
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'src', '--meta_path', 'm'], dir);
    expect(b.code, b.stderr).toBe(0);
    // random bytes are stored as they are: find 3 MB into the file inside its pack and flip a byte
    const at = 3_000_000;
    const needle = Buffer.from(data.subarray(at, at + 64));
    let flipped = false;
    const packs = path.join(dir, 'repo/data');
    for (const sub of readdirSync(packs)) {
      for (const name of readdirSync(path.join(packs, sub))) {
        const p = path.join(packs, sub, name);
        const bytes = readFileSync(p);
        const off = bytes.indexOf(needle);
        if (off < 0) continue;
        const fd = openSync(p, 'r+');
        const one = Buffer.alloc(1);
        readSync(fd, one, 0, 1, off);
        one[0] ^= 0x55;
        writeSync(fd, one, 0, 1, off);
        closeSync(fd);
        flipped = true;
      }
    }
    expect(flipped).toBe(true);
    const r = await mobrBytes(['dump', backupId(b.stdout), 'big', '--meta_path', 'm'], dir);
    expect(r.code).toBe(6);
    expect(r.stderr.toString()).toMatch(/^mo_br: big: chunk [0-9a-f]{16} in pack [0-9a-f]{16}: .*damaged.*\n$/);
    expect(r.stdout.length).toBeLessThanOrEqual(at); // nothing of the damaged chunk
    expect(r.stdout.equals(Buffer.from(data.subarray(0, r.stdout.length)))).toBe(true); // and what came before is right
  });
});

/** mobr (in-process) with stdout kept as bytes (dump writes binary); a real pipe is the `dump | head` case's. */
async function mobrBytes(args: string[], cwd = work): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const r = await mobr(args, cwd);
  return { code: r.code, stdout: r.stdoutBytes, stderr: r.stderr };
}

describe('restore --include/--exclude and --dry_run', () => {
  it('restores only what the globs choose, byte-identical', async () => {
    const r = await mo(['restore', id1, '--restore_dir', 'filesystem', '--restore_path', 'part', '--include', 'shared', '--exclude', '*acc10_*', ...M()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/restore file num: 2, total file num: 2, cost/);
    const want = [...treeFiles(path.join(work, 'v1/mo-data'))].filter(([p]) => p.startsWith('shared/') && !p.includes('acc10_'));
    expect([...treeFiles(path.join(work, 'part/mo-data'))].sort()).toEqual(want.sort());
    const none = await mo(['restore', id1, '--restore_dir', 'filesystem', '--restore_path', 'part0', '--include', 'zzz', ...M()]);
    expect(none.code).toBe(3);
    oneLine(none.stderr);
    expect(existsSync(path.join(work, 'part0'))).toBe(false);
  });

  it('restore --dry_run says what would be read and written, and writes nothing', async () => {
    const r = await mo(['restore', id2, '--restore_dir', 'filesystem', '--restore_path', 'dry', '--include', '*.ckp', '--dry_run', ...AT()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `dry run: nothing is written\nbackup ${id2} (${r.stdout.match(/\((\S+Z)\)/)![1]}) in BackupDir: filesystem  Path: ${path.join(work, 'repo')}\n` +
        `would read:  ${r.stdout.match(/read: {2}(\d+) chunks/)![1]} chunks from 1 packs, ${r.stdout.match(/packs, (\d+) bytes stored/)![1]} bytes stored\n` +
        `would write: 1 files, 10500 bytes, under ${path.join(work, 'dry/mo-data')}\n  10500  shared/ckp/meta_0-1.ckp\n`,
    );
    expect(existsSync(path.join(work, 'dry'))).toBe(false);
    const j = JSON.parse((await mo(['restore', id2, '--restore_dir', 'filesystem', '--restore_path', 'dry', '--dry_run', '--json', ...M()])).stdout);
    expect(j).toMatchObject({ schema: 'mobr.restore-plan.v1', dryRun: true, id: id2, write: { files: 5, bytes: 3_000_000 + 150_000 + 10_500 + 23 } });
    expect(existsSync(path.join(work, 'dry'))).toBe(false);
  });

  it('backup --dry_run: no repository object, no meta record; says what it would read', async () => {
    const snapshot = (d: string) => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).sort() : []);
    const before = snapshot(path.join(work, 'repo'));
    const meta = readFileSync(path.join(work, 'mo_br.meta'));
    writeFileSync(path.join(work, 'mo-data/new-file'), 'x'.repeat(1000));
    const r = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--dry_run', ...M()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`unchanged files are taken from backup ${id2}`);
    expect(r.stdout).toContain('would read:  1 files, 1.0 kB (1 new, 0 changed)\n');
    expect(r.stdout).toContain('would reuse: 5 files, 3.2 MB unread\n');
    // #24.5: a summary, not a line per file; the list only with --verbose, sizes for people
    expect(r.stdout).not.toContain('new-file');
    expect(r.stdout.endsWith('each file it would read: add --verbose\n'), r.stdout).toBe(true);
    const first = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo-new', '--data_dir', 'mo-data', '--dry_run', ...M()]);
    expect(first.stdout.split('\n').filter((l) => l.startsWith('  new ')), first.stdout).toEqual([]);
    expect(first.stdout).toContain('would read:  6 files, 3.2 MB (6 new, 0 changed)\n');
    const listed = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--dry_run', '--verbose', ...M()]);
    expect(listed.stdout.endsWith('  new      1.0 kB  new-file\n'), listed.stdout).toBe(true);
    expect(listed.stderr).toBe('');
    expect(snapshot(path.join(work, 'repo'))).toEqual(before);
    expect(readFileSync(path.join(work, 'mo_br.meta')).equals(meta)).toBe(true);
    const fresh = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo-new', '--data_dir', 'mo-data', '--dry_run', '--json', ...M()]);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ schema: 'mobr.backup-plan.v1', repositoryExists: false, parent: null, read: { files: 6 } });
    expect(existsSync(path.join(work, 'repo-new'))).toBe(false);
    rmSync(path.join(work, 'mo-data/new-file'));
  });
});

describe('stats', () => {
  it('text and JSON carry the dates; --html writes one self-contained page', async () => {
    const r = await mo(['stats', '--html', 'report.html', ...M()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/COMPLETED \(UTC\) +ID +TOTAL +STORED +DEDUP +ADDED +UNIQUE\n/);
    expect(r.stdout).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${id1}`));
    const j = JSON.parse((await mo(['stats', '--json', ...AT()])).stdout);
    expect(j.schema).toBe('mobr.stats.v1');
    const bs = j.repositories[0].backups;
    expect(bs.map((b: { id: string }) => b.id)).toEqual([id1, id2]);
    expect(bs[0].completedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(bs[1].cumulativeStored).toBe(bs[0].addedBytes + bs[1].addedBytes);
    // one vocabulary: the size of a backup's files is its total, as in the backup summary (logicalSize: v1's name, kept)
    expect(bs.map((b: { totalBytes: number; cumulativeTotal: number }) => [b.totalBytes, b.cumulativeTotal])).toEqual(bs.map((b: { logicalSize: number; cumulativeLogical: number }) => [b.logicalSize, b.cumulativeLogical]));
    expect(j.repositories[0].totalBytes).toBe(bs[0].logicalSize + bs[1].logicalSize);
    expect(r.stdout).toMatch(/^all: \S+ \S+ total in \S+ \S+ of \d+ packs/m);
    const html = readFileSync(path.join(work, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<svg');
    expect(html).toContain(id1);
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/);
  });
});
