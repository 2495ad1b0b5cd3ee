/**
 * File names are bytes (spec/repository.md §7.1): any name the filesystem allows — not valid
 * UTF-8, up to 255 bytes — is backed up, checked and restored under exactly its bytes. The name
 * mapping and the manifest's name fields round-trip for arbitrary bytes; manifests whose names
 * are all UTF-8 stay version 1, readable as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { decodeName, encodeName, isPlainName } from '../src/util/names.js';
import { decodeManifest, encodeManifest, type FileEntry, type Manifest } from '../src/repo/manifest.js';
import { seal } from '../src/repo/sealed.js';
import { blake3Ready } from '../src/hash/blake3.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr } from './helpers/cli.js';

const RUNS = Number(process.env.MOBR_FUZZ_RUNS ?? 300);

let work: string;
beforeAll(async () => {
  await blake3Ready();
  ensureBuilt();
  work = await tempDir('mobr-names-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** A name segment as the filesystem allows it: 1..255 bytes, no '/' or NUL, not '.' or '..'. */
const segment = fc
  .uint8Array({ minLength: 1, maxLength: 255 })
  .map((b) => Buffer.from(b.map((x) => (x === 0x2f || x === 0 ? 0x80 : x))))
  .filter((b) => b.toString('latin1') !== '.' && b.toString('latin1') !== '..');
const bytePath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => Buffer.concat(segs.flatMap((s, i) => (i === 0 ? [s] : [Buffer.from('/'), s]))));

describe('names as bytes', () => {
  it('decodeName and encodeName are inverse for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const name = decodeName(b);
        expect(encodeName(name).equals(Buffer.from(b))).toBe(true);
        expect(isPlainName(name)).toBe(Buffer.from(name, 'utf8').equals(Buffer.from(b)));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('valid UTF-8 text is its own name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
        expect(decodeName(Buffer.from(s, 'utf8'))).toBe(s);
        expect(isPlainName(s)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('a manifest round-trips arbitrary byte names and link targets; version 2 only when needed', () => {
    const entry = fc.tuple(bytePath, fc.constantFrom('file', 'dir', 'symlink'), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([p, k, t]): FileEntry => {
      const base = { path: decodeName(p), kind: k as FileEntry['kind'], size: 0, mode: 0o644, mtimeMs: 1 };
      if (k === 'file') return { ...base, sha256: new Uint8Array(32), chunks: new Uint8Array(0) };
      if (k === 'symlink') return { ...base, target: decodeName(t.map((x) => (x === 0 ? 1 : x))) };
      return base;
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (files) => {
        const m: Manifest = { version: 1, id: 'b', type: 'full', startedAt: 1, completedAt: 2, source: {}, files, logicalSize: 0, addedBytes: 0 };
        const sealed = encodeManifest(m);
        const back = decodeManifest(sealed, 'm');
        expect(back.files.map((f) => encodeName(f.path).toString('hex'))).toEqual(files.map((f) => encodeName(f.path).toString('hex')));
        expect(back.files.map((f) => f.target && encodeName(f.target).toString('hex'))).toEqual(files.map((f) => f.target && encodeName(f.target).toString('hex')));
        const plain = files.every((f) => isPlainName(f.path) && (f.target === undefined || isPlainName(f.target)));
        expect(sealed[5]).toBe(plain ? 1 : 2);
        expect(back.version).toBe(plain ? 1 : 2);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a version-1 manifest as written before names were bytes', () => {
    const body = {
      version: 1, id: 'old', type: 'full', startedAt: 1, completedAt: 2, source: { kind: 'cold' }, logicalSize: 3, addedBytes: 0,
      files: [
        { p: 'a/é', k: 'file', s: 3, m: 0o644, t: 5, h: new Uint8Array(32), c: new Uint8Array(32) },
        { p: 'l', k: 'symlink', s: 0, m: 0o777, t: 6, l: 'a/é' },
      ],
    };
    const m = decodeManifest(seal('M', 1, body), 'old');
    expect(m.files.map((f) => [f.path, f.kind, f.target])).toEqual([['a/é', 'file', undefined], ['l', 'symlink', 'a/é']]);
  });
});

/** Every entry below root by its raw name bytes (hex path -> kind:content). */
async function rawTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (dir: Buffer, rel: Buffer) => {
    for (const name of await fsp.readdir(dir, { encoding: 'buffer' })) {
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = await fsp.lstat(abs);
      if (st.isDirectory()) {
        out.set(r.toString('hex'), 'dir');
        await visit(abs, r);
      } else if (st.isSymbolicLink()) out.set(r.toString('hex'), `link:${(await fsp.readlink(abs, { encoding: 'buffer' })).toString('hex')}`);
      else out.set(r.toString('hex'), `file:${(await fsp.readFile(abs)).toString('hex').slice(0, 64)}:${st.size}`);
    }
  };
  await visit(Buffer.from(root), Buffer.alloc(0));
  return out;
}

describe('mo_br with names that are not text', () => {
  it('backs up, checks and restores names that are not UTF-8 and names of 234 to 255 bytes', async () => {
    const data = Buffer.from(path.join(work, 'mo-data'));
    const at = (...parts: (string | Buffer)[]) => Buffer.concat([data, ...parts.flatMap((p) => [Buffer.from('/'), Buffer.from(p)])]);
    await fsp.mkdir(at('shared'), { recursive: true });
    const latin1 = Buffer.from('caf\xe9', 'latin1'); // not UTF-8
    const odd = Buffer.from([0xff, 0xfe, 0x41, 0xc3]);
    await fsp.writeFile(at('shared', latin1), pseudoRandom(1, 70_000));
    await fsp.mkdir(at('shared', odd));
    await fsp.writeFile(at('shared', odd, latin1), 'inside an odd folder');
    for (const n of [234, 240, 255]) await fsp.writeFile(at('shared', 'n'.repeat(n - 1) + 'x'), `name of ${n} bytes`);
    await fsp.writeFile(at('shared', Buffer.concat([Buffer.from('é'.repeat(126)), Buffer.from([0xe9, 0xff, 0x80])])), '255 bytes, partly not UTF-8');
    await fsp.symlink(Buffer.concat([Buffer.from('../'), latin1]), at('shared', Buffer.from([0x6c, 0xff])));

    const repo = path.join(work, 'repo');
    const meta = path.join(work, 'mo_br.meta');
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data.toString(), '--meta_path', meta], work);
    expect(b.code, b.stderr).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1];
    const c = await mobr(['check', id, '--meta_path', meta], work);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    const dest = path.join(work, 'restored');
    const r = await mobr(['restore', id, '--meta_path', meta, '--restore_dir', 'filesystem', '--restore_path', dest], work);
    expect(r.code, r.stderr).toBe(0);
    const want = await rawTree(data.toString());
    const got = await rawTree(path.join(dest, 'mo-data'));
    expect(got).toEqual(want);
    expect(want.size).toBe(9);
  }, 60_000);
});
