/**
 * Damage (spec/reliability.md §2): bytes of packs, index objects, manifests and the mo_br.meta
 * catalog are flipped, truncated or deleted. Then:
 * - `mo_br check` exits non-zero and names every affected backup and, for data damage, exactly
 *   the affected files (computed independently from the pristine repository);
 * - restore of an unaffected backup still works, byte-identical;
 * - restore of an affected backup fails in one line and every file it left under a real name
 *   holds the right bytes (no partial files left either).
 * Cases: MOBR_DAMAGE_ROUNDS random ones (default 2) on top of one fixed case per kind.
 * mo_br runs in this process (mobrIn): what is judged is what each command reports and leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { Repository } from '../../src/repo/repository.js';
import { decodeIndex } from '../../src/repo/index-file.js';
import { chunkCount, chunkId } from '../../src/repo/manifest.js';
import { toHex } from '../../src/hash/hex.js';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { SEED, allPaths, backupIdOf, ensureBuilt, initTinyRepo, rng, treeHashes } from './cli.js';
import { mobrIn as mobr } from '../helpers/cli.js';

const ROUNDS = Number(process.env.MOBR_DAMAGE_ROUNDS ?? 2);

let work: string;
let repo: string;
let pristine: string;
let meta: string;
let M: string[];
const trees = new Map<string, Map<string, string>>(); // backup id -> tree hashes
let ids: string[] = [];
/** chunk hex -> "id:path" of every file using it */
const users = new Map<string, Set<string>>();
/** pack id -> its blobs; index key -> pack ids */
const packs = new Map<string, { id: string; offset: number; length: number }[]>();
const indexPacks = new Map<string, string[]>();
const manifestFiles = new Map<string, string[]>();

beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-damage-');
  repo = path.join(work, 'repo');
  pristine = path.join(work, 'pristine');
  meta = path.join(work, 'mo_br.meta');
  M = ['--meta_path', meta];
  await initTinyRepo(repo);
  // Two backups sharing one file; each has files of its own.
  for (const [b, seed] of [['A', 11], ['B', 22]] as const) {
    const src = path.join(work, `src-${b}`);
    await fsp.mkdir(path.join(src, 'shared'), { recursive: true });
    for (let i = 0; i < 4; i++) await fsp.writeFile(path.join(src, 'shared', `${b}${i}`), pseudoRandom(seed * 100 + i, 60_000 + i * 9000));
    await fsp.writeFile(path.join(src, 'common'), pseudoRandom(5, 90_000));
    await fsp.writeFile(path.join(src, 'small.toml'), `name = "${b}"\n`);
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
    expect(r.code, r.stderr).toBe(0);
    const id = backupIdOf(r.stdout)!;
    ids.push(id);
    trees.set(id, await treeHashes(src));
  }
  await fsp.cp(repo, pristine, { recursive: true });
  await fsp.copyFile(meta, `${meta}.pristine`);
  // Ground truth, from the pristine repository.
  const r = await Repository.open(new FsStore(pristine));
  for (const id of ids) {
    const m = await r.loadManifest(id);
    manifestFiles.set(id, m.files.filter((f) => f.kind === 'file').map((f) => f.path));
    for (const f of m.files) for (let i = 0; i < chunkCount(f); i++) {
      const h = toHex(chunkId(f, i));
      if (!users.has(h)) users.set(h, new Set());
      users.get(h)!.add(`${id}:${f.path}`);
    }
  }
  for (const pid of r.index.packs.keys()) packs.set(pid, (await r.readPackHeader(pid)).blobs.map((b) => ({ id: toHex(b.id), offset: b.offset, length: b.length })));
  for (const key of r.loadedIndexes) indexPacks.set(key, decodeIndex(await r.store.get(key), key).map((p) => p.id));

});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function reset(): Promise<void> {
  await fsp.rm(repo, { recursive: true, force: true });
  await fsp.cp(pristine, repo, { recursive: true });
  await fsp.copyFile(`${meta}.pristine`, meta);
}

type Damage = { kind: 'flip'; at: number } | { kind: 'truncate'; to: number } | { kind: 'delete' };

async function damage(file: string, d: Damage): Promise<void> {
  if (d.kind === 'delete') return fsp.rm(file);
  if (d.kind === 'truncate') return fsp.truncate(file, d.to);
  const buf = await fsp.readFile(file);
  buf[d.at] ^= 0x5a;
  await fsp.writeFile(file, buf);
}

const filesUsing = (chunks: Iterable<string>): Set<string> => {
  const out = new Set<string>();
  for (const c of chunks) for (const u of users.get(c) ?? []) out.add(u);
  return out;
};

/** The files ("id:path") a damage to a pack ruins. */
function packVictims(pid: string, size: number, d: Damage): Set<string> {
  const blobs = packs.get(pid)!;
  const dataLen = blobs.reduce((m, b) => Math.max(m, b.offset + b.length), 0);
  if (d.kind === 'flip' && d.at < dataLen) return filesUsing(blobs.filter((b) => d.at >= b.offset && d.at < b.offset + b.length).map((b) => b.id));
  void size;
  return filesUsing(blobs.map((b) => b.id));
}

function isBlobFlip(pid: string, d: Damage): boolean {
  const blobs = packs.get(pid)!;
  return d.kind === 'flip' && blobs.some((b) => d.at >= b.offset && d.at < b.offset + b.length);
}

function indexVictims(key: string): Set<string> {
  return filesUsing(indexPacks.get(key)!.flatMap((p) => packs.get(p)!.map((b) => b.id)));
}

interface CheckAll {
  code: number | null;
  stderr: string;
  stdout: string;
  damaged: Set<string>;
}

async function checkAll(): Promise<CheckAll> {
  const c = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, '--json', ...M], work);
  const damaged = new Set<string>();
  try {
    for (const r of JSON.parse(c.stdout).checks as { id: string; damaged: { path: string }[] }[]) for (const d of r.damaged) damaged.add(`${r.id}:${d.path}`);
  } catch {
    /* no JSON: the command failed before checking files */
  }
  return { code: c.code, stderr: c.stderr, stdout: c.stdout, damaged };
}

/**
 * Restores `id`. 'ok': must succeed byte-identical. 'fail': must fail in one line. Either way,
 * and for 'may' (damage restore can route around, e.g. a pack header: chunks are checked by id),
 * every file left under a real name holds the right bytes and no partial file is left.
 */
async function restoreAndJudge(id: string, expectation: 'ok' | 'fail' | 'may', ctx: string): Promise<void> {
  const dest = path.join(work, `restore-${id.slice(0, 8)}-${Math.random().toString(36).slice(2, 8)}`);
  const r = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
  const want = trees.get(id)!;
  if (expectation === 'ok' || (expectation === 'may' && r.code === 0)) {
    expect(r.code, `${ctx}: restore of unaffected ${id}: ${r.stderr}`).toBe(0);
    expect(await treeHashes(path.join(dest, 'mo-data')), ctx).toEqual(want);
  } else {
    expect(r.code, `${ctx}: restore of affected ${id} must fail`).not.toBe(0);
    expect(r.stderr, ctx).toMatch(/^mo_br: [^\n]+\n$/);
    const got = await treeHashes(path.join(dest, 'mo-data')).catch(() => new Map<string, string>());
    for (const [p, h] of got) expect(h, `${ctx}: restored ${p} holds wrong bytes`).toBe(want.get(p));
    expect((await allPaths(dest)).filter((p) => p.includes('mobr-partial')), `${ctx}: partial files left`).toEqual([]);
  }
  await fsp.rm(dest, { recursive: true, force: true });
}

async function objectsUnder(sub: string): Promise<string[]> {
  return (await allPaths(path.join(repo, sub))).filter((p) => !p.endsWith('/') && /[0-9a-f]{64}$|^[0-9a-f-]{36}$/.test(path.basename(p)));
}

/** One damage case on a pack or index object: exact file-level report, restores judged. */
async function dataCase(sub: 'data' | 'index', pick: number, d: (size: number) => Damage, ctx: string): Promise<void> {
  await reset();
  const objs = (await objectsUnder(sub)).filter((p) => /[0-9a-f]{64}$/.test(p));
  const rel = objs[pick % objs.length];
  const file = path.join(repo, sub, rel);
  const size = (await fsp.stat(file)).size;
  const dmg = d(size);
  const name = path.basename(rel);
  const victims = sub === 'data' ? packVictims(name, size, dmg) : indexVictims(`index/${name}`);
  await damage(file, dmg);
  const c = await checkAll();
  const context = `${ctx}: ${sub}/${rel} ${JSON.stringify(dmg)}`;
  if (victims.size === 0) {
    expect(c.code, `${context}: ${c.stderr}`).toBe(0);
  } else {
    expect(c.code, `${context}: ${c.stderr}`).toBe(1);
    expect(c.stderr, context).toMatch(/^mo_br: check failed: [^\n]+\n$/);
    expect([...c.damaged].sort(), context).toEqual([...victims].sort());
  }
  const hit = new Set([...victims].map((v) => v.split(':')[0]));
  // Restore must fail when chunk bytes are wrong or unreachable; damage around them may be survivable.
  const mustFail = sub === 'index' || dmg.kind === 'delete' || isBlobFlip(name, dmg);
  for (const id of ids) await restoreAndJudge(id, !hit.has(id) ? 'ok' : mustFail ? 'fail' : 'may', context);
}

describe('damaged packs and index objects', () => {
  // one test a case, so none of them comes near the per-test guideline on a loaded machine
  const fixed: ['data' | 'index', number, (n: number) => Damage, string][] = [
    ['data', 0, () => ({ kind: 'flip', at: 10 }), 'pack blob flip'],
    ['data', 1, (n) => ({ kind: 'flip', at: n - 20 }), 'pack header flip'],
    ['data', 2, (n) => ({ kind: 'truncate', to: Math.floor(n / 2) }), 'pack truncate'],
    ['data', 3, () => ({ kind: 'delete' }), 'pack delete'],
    ['index', 0, (n) => ({ kind: 'flip', at: Math.floor(n / 2) }), 'index flip'],
    ['index', 0, () => ({ kind: 'delete' }), 'index delete'],
  ];
  for (const [sub, pick, d, name] of fixed) it(`fixed case: ${name}`, () => dataCase(sub, pick, d, name));

  it(`random cases (${ROUNDS}, seed ${SEED})`, async () => {
    const rand = rng(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const sub = rand() < 0.75 ? 'data' : 'index';
      const k = rand();
      const pick = Math.floor(rand() * 1e6);
      const r2 = rand();
      const d = (n: number): Damage => (k < 0.6 ? { kind: 'flip', at: Math.floor(r2 * n) } : k < 0.85 ? { kind: 'truncate', to: Math.floor(r2 * n) } : { kind: 'delete' });
      await dataCase(sub, pick, d, `random ${i} seed ${SEED}`);
    }
  });
});

describe('damaged manifests', () => {
  for (const dmg of [{ kind: 'flip', at: 40 }, { kind: 'truncate', to: 30 }, { kind: 'delete' }] as Damage[]) {
    it(`${dmg.kind}: check names the backup and exits non-zero; the other backup still checks and restores`, async () => {
      await reset();
      const [bad, good] = ids;
      await damage(path.join(repo, 'backups', bad), dmg);
      const one = await mobr(['check', bad, ...M], work);
      expect(one.code).not.toBe(0);
      expect(one.stderr).toMatch(new RegExp(`^mo_br: [^\\n]*${bad}[^\\n]*\\n$`));
      const listed = await mobr(['list', bad, ...M], work);
      expect(listed.code).not.toBe(0);
      expect(listed.stderr).toContain(bad);
      if (dmg.kind !== 'delete') {
        // Checking the whole repository reports the damaged manifest by name and still checks the rest.
        const all = await checkAll();
        expect(all.code, all.stderr).not.toBe(0);
        expect(all.stdout + all.stderr).toContain(bad);
        expect(all.stdout, 'the good backup is still checked').toContain(good);
      }
      const ok = await mobr(['check', good, ...M], work);
      expect(ok.code, ok.stderr).toBe(0);
      await restoreAndJudge(good, 'ok', `manifest ${dmg.kind}`);
      await restoreAndJudge(bad, 'fail', `manifest ${dmg.kind}`);
    });
  }
});

describe('damaged repository config', () => {
  it('check, restore, backup and delete exit 6 naming it and write nothing', async () => {
    await reset();
    await damage(path.join(repo, 'config'), { kind: 'flip', at: 20 });
    const before = await allPaths(repo);
    const catalog = await fsp.readFile(meta);
    for (const args of [['check', ids[0]], ['restore', ids[0], '--restore_dir', 'filesystem', '--restore_path', path.join(work, 'cfg-x')], ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', path.join(work, 'src-A')], ['delete', ids[0]]]) {
      const r = await mobr([...args, ...M], work);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(6);
      expect(r.stderr).toMatch(/^mo_br: config of filesystem [^\n]*: checksum mismatch \(damaged\)\n$/);
    }
    expect(await allPaths(repo)).toEqual(before);
    expect(await fsp.readFile(meta)).toEqual(catalog);
    expect(await allPaths(path.join(work, 'cfg-x'))).toEqual([]);
  });
});

describe('damaged mo_br.meta', () => {
  for (const dmg of [{ kind: 'flip', at: 60 }, { kind: 'truncate', to: 100 }] as Damage[]) {
    it(`${dmg.kind}: every command names the file, exits 6, leaves it unchanged; restore from --backup_dir still works`, async () => {
      await reset();
      await damage(meta, dmg);
      const before = await fsp.readFile(meta);
      for (const args of [['list'], ['check', ids[0]], ['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', path.join(work, 'src-A')], ['delete', ids[0]]]) {
        const r = await mobr([...args, ...M], work);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(6);
        expect(r.stderr).toMatch(/^mo_br: meta file .*mo_br\.meta (is damaged \([^)]*\)|does not match its checksum file [^\n]*mo_br\.meta\.sha256 \(damaged or edited\)); it was left unchanged\n$/);
      }
      expect(await fsp.readFile(meta)).toEqual(before);
      expect(await objectsUnder('backups')).toHaveLength(2); // delete did not touch the repository
      const dest = path.join(work, 'restore-nometa');
      const r = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', repo, '--restore_dir', 'filesystem', '--restore_path', dest, ...M], work);
      expect(r.code, r.stderr).toBe(0);
      expect(await treeHashes(path.join(dest, 'mo-data'))).toEqual(trees.get(ids[1]));
      await fsp.rm(dest, { recursive: true, force: true });
    });
  }

  it('deleted: commands with an ID fail naming it (exit 3); the repository is untouched and checks from --backup_dir', async () => {
    await reset();
    await fsp.rm(meta);
    const l = await mobr(['list', ...M], work);
    expect(l.code, l.stderr).toBe(0);
    for (const args of [['check', ids[0]], ['restore', ids[0], '--restore_dir', 'filesystem', '--restore_path', path.join(work, 'nometa-x')], ['delete', ids[0]]]) {
      const r = await mobr([...args, ...M], work);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`^mo_br: no backup with ID ${ids[0]} in [^\\n]+\\n$`));
    }
    expect(await objectsUnder('backups')).toHaveLength(2);
    const c = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
    expect(c.code, c.stderr).toBe(0);
  });
});
