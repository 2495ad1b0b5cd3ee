/** Random file trees for property tests: generate, write to disk, read back, compare. */
import { createHash } from 'node:crypto';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';

export interface TreeFile {
  path: string;
  data: Uint8Array;
  mode: number;
}

const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
  fc.constantFrom('数据', 'ünïcödé', 'mo-data', 'résumé', 'тест', 'a b', '018f7a41-1881-7999-bbd6-858c3d4acc18_00000'),
);

/** Byte content: empty, tiny, or up to maxSize with repetitive and random regions. */
export function contentArb(maxSize: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc.record({ seed: fc.integer(), size: fc.integer({ min: 1, max: maxSize }), repeat: fc.boolean() }).map(({ seed, size, repeat }) => pseudoRandom(seed, size, repeat)),
  );
}

export function pseudoRandom(seed: number, size: number, repeat = false): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = repeat ? (x >>> 24) & 0x0f : x >>> 24;
  }
  return out;
}

export function treeArb(maxFiles: number, maxSize: number): fc.Arbitrary<TreeFile[]> {
  return fc
    .uniqueArray(fc.array(segment, { minLength: 1, maxLength: 6 }), { minLength: 0, maxLength: maxFiles, selector: (p) => p.join('/').toLowerCase() })
    .chain((paths) => {
      // a path may not be a prefix directory of another file
      const set = new Set(paths.map((p) => p.join('/')));
      const ok = paths.filter((p) => !p.some((_, i) => i < p.length - 1 && set.has(p.slice(0, i + 1).join('/'))));
      return fc.tuple(...ok.map((p) => fc.record({ path: fc.constant(p.join('/')), data: contentArb(maxSize), mode: fc.constantFrom(0o644, 0o600, 0o755, 0o640) })));
    });
}

export async function tempDir(prefix = 'mobr-test-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function writeTree(root: string, files: TreeFile[]): Promise<void> {
  for (const f of files) {
    const p = path.join(root, ...f.path.split('/'));
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, f.data);
    await fsp.chmod(p, f.mode);
  }
}

/** Reads every regular file below root: path -> { data, mode }. */
export async function readTree(root: string): Promise<Map<string, { data: Buffer; mode: number }>> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  const visit = async (dir: string, rel: string) => {
    for (const name of await fsp.readdir(dir)) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await fsp.lstat(abs);
      if (st.isDirectory()) await visit(abs, r);
      else if (st.isFile()) out.set(r, { data: await fsp.readFile(abs), mode: st.mode & 0o7777 });
    }
  };
  await visit(root, '');
  return out;
}

export async function dirSize(root: string): Promise<number> {
  let total = 0;
  for (const v of (await readTree(root)).values()) total += v.data.length;
  return total;
}

/** SHA-256 (hex) of every file under dir, by path relative to dir: what a restore must give back. */
export function fileHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}
