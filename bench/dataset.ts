/**
 * Synthetic MatrixOne data trees for the benchmark (bench/run.ts): a `mo-data/shared` folder of
 * immutable object files named `<uuidv7>_00000` (0.1–64 MiB, log-uniform sizes; mostly
 * incompressible bytes like LZ4'd column blocks, with some low-entropy runs that zstd shrinks),
 * checkpoint files under `ckp/`, a `gc/` file and a few small metadata files; and its evolution
 * day by day: new objects (flushes), merges that replace several objects by one, GC deletions.
 * Every object's bytes are new (a merge rewrites its rows): unique bytes are the sum of the
 * sizes of all files ever written, which the ledger keeps.
 */
import { promises as fsp } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import * as path from 'node:path';

const MiB = 1024 * 1024;
const GEN_BLOCK = 4 * MiB;

export interface ObjectFile {
  rel: string; // relative to the tree root, '/'-separated
  size: number;
}

/** A tree on disk and what was ever written into it. */
export interface Dataset {
  root: string;
  objects: ObjectFile[]; // live object files (mo-data/shared/<uuidv7>_00000)
  uniqueBytes: number; // bytes of every distinct file version ever written
  clock: number; // ms timestamp used for uuidv7 names and checkpoint names
  seed: number;
}

/** Small deterministic PRNG (mulberry32) for sizes and choices; contents come from randomFillSync. */
function rng(d: Dataset): number {
  let t = (d.seed = (d.seed + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function uuidv7(d: Dataset): string {
  d.clock += 1 + Math.floor(rng(d) * 1000);
  const ts = d.clock.toString(16).padStart(12, '0');
  const r = () => Math.floor(rng(d) * 0x10000).toString(16).padStart(4, '0');
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r().slice(1)}-${((8 + Math.floor(rng(d) * 4)).toString(16))}${r().slice(1)}-${r()}${r()}${r()}`;
}

/** Object sizes: log-uniform over 0.1–64 MiB. */
function objectSize(d: Dataset): number {
  const lo = Math.log(0.1 * MiB);
  const hi = Math.log(64 * MiB);
  return Math.round(Math.exp(lo + rng(d) * (hi - lo)));
}

/** Writes `size` bytes: random blocks, about 15% of them low-entropy (4 bits a byte). */
async function writeContent(d: Dataset, file: string, size: number, compressibleShare = 0.15): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const fh = await fsp.open(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(GEN_BLOCK);
    let left = size;
    while (left > 0) {
      const n = Math.min(left, GEN_BLOCK);
      const b = buf.subarray(0, n);
      randomFillSync(b);
      // low-entropy runs of 256 KiB inside the block
      for (let o = 0; o < n; o += 256 * 1024) {
        if (rng(d) < compressibleShare) {
          const e = Math.min(n, o + 256 * 1024);
          for (let i = o; i < e; i++) b[i] = 0x30 | (b[i] & 0x0f);
        }
      }
      let off = 0;
      while (off < n) off += (await fh.write(b, off, n - off)).bytesWritten;
      left -= n;
    }
  } finally {
    await fh.close();
  }
  d.uniqueBytes += size;
}

async function newObject(d: Dataset, size = objectSize(d)): Promise<ObjectFile> {
  const o = { rel: `mo-data/shared/${uuidv7(d)}_00000`, size };
  await writeContent(d, path.join(d.root, o.rel), size);
  d.objects.push(o);
  return o;
}

async function removeObject(d: Dataset, o: ObjectFile): Promise<void> {
  await fsp.rm(path.join(d.root, o.rel), { force: true });
  d.objects.splice(d.objects.indexOf(o), 1);
}

/** Checkpoint + metadata files: rewritten each day (the old checkpoint goes). */
async function writeMeta(d: Dataset, day: number): Promise<void> {
  const ckpDir = path.join(d.root, 'mo-data/shared/ckp');
  await fsp.rm(ckpDir, { recursive: true, force: true });
  const t0 = d.clock - 86_400_000;
  await writeContent(d, path.join(ckpDir, `meta_${t0}-0_${d.clock}-0.ckp`), 4096 + Math.floor(rng(d) * 60_000), 0.8);
  await writeContent(d, path.join(ckpDir, `meta_0-0_${d.clock}-0.ckp`), 2 * MiB + Math.floor(rng(d) * 6 * MiB), 0.6);
  await writeContent(d, path.join(d.root, `mo-data/shared/gc/gc_${t0}-0_${d.clock}-0.ckp`), 64 * 1024, 0.8);
  for (const name of ['mo-data/local/tn/meta.json', 'mo-data/local/cn/meta.json', 'mo-data/etl/sys/config.toml']) {
    await writeContent(d, path.join(d.root, name), 512 + Math.floor(rng(d) * 8192), 1);
  }
  void day;
}

/** Creates a tree of about `bytes` bytes under root. */
export async function createTree(root: string, bytes: number, seed = 7): Promise<Dataset> {
  const d: Dataset = { root, objects: [], uniqueBytes: 0, clock: Date.UTC(2025, 0, 1), seed };
  await fsp.mkdir(root, { recursive: true });
  let total = 0;
  while (total < bytes) {
    const size = Math.min(objectSize(d), Math.max(100 * 1024, bytes - total));
    total += (await newObject(d, size)).size;
  }
  await writeMeta(d, 0);
  return d;
}

export function treeObjectBytes(d: Dataset): number {
  return d.objects.reduce((s, o) => s + o.size, 0);
}

/** Adds new objects worth `share` of the tree (no deletions); returns them. */
export async function addObjects(d: Dataset, share: number): Promise<ObjectFile[]> {
  const want = treeObjectBytes(d) * share;
  const out: ObjectFile[] = [];
  let got = 0;
  while (got < want) {
    const o = await newObject(d, Math.min(objectSize(d), Math.max(100 * 1024, Math.ceil(want - got))));
    out.push(o);
    got += o.size;
  }
  return out;
}

/**
 * One day of MatrixOne life at `churn` (a share of the tree's bytes that is new): half of the
 * new bytes are flushes (new objects), half are merges (3–6 objects replaced by one about their
 * size); GC then deletes old objects worth the flushed bytes, so the tree keeps its size.
 */
export async function evolveDay(d: Dataset, day: number, churn: number): Promise<void> {
  d.clock += 86_400_000;
  const size = treeObjectBytes(d);
  const budget = size * churn;
  await addObjects(d, churn / 2);
  let merged = 0;
  while (merged < budget / 2 && d.objects.length > 8) {
    const k = 3 + Math.floor(rng(d) * 4);
    const victims: ObjectFile[] = [];
    for (let i = 0; i < k; i++) {
      const o = d.objects[Math.floor(rng(d) * d.objects.length)];
      if (!victims.includes(o) && o.size < 24 * MiB) victims.push(o);
    }
    if (victims.length === 0) continue;
    const sum = victims.reduce((s, o) => s + o.size, 0);
    for (const v of victims) await removeObject(d, v);
    await newObject(d, Math.max(100 * 1024, Math.round(sum * 0.95)));
    merged += sum;
  }
  let gc = 0;
  while (gc < budget / 2 && d.objects.length > 8) {
    const o = d.objects[Math.floor(rng(d) * Math.min(d.objects.length, 1 + d.objects.length / 2))];
    gc += o.size;
    await removeObject(d, o);
  }
  await writeMeta(d, day);
}

/** Sum of the sizes of all regular files below dir. */
export async function duBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    for (const e of await fsp.readdir(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) await walk(f);
      else if (e.isFile()) total += (await fsp.stat(f)).size;
    }
  };
  await walk(dir);
  return total;
}

/** Relative paths of all regular files below dir, sorted. */
export async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}
