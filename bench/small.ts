/**
 * Small-files workloads for `npm run bench`: many tiny files (10k, and 100k to show that every
 * operation stays linear in the number of files) and a /usr/lib-like mix (a copy of part of this
 * machine's /usr/lib). Each tool backs up, restores and checks (reading every byte) the same
 * tree with the page cache dropped before each step.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { dropCaches } from './proc.js';
import type { RunResult } from './proc.js';
import type { BackupTool } from './tools.js';

export interface SmallWorkload {
  name: string;
  files: number;
  bytes: number;
  results: { tool: string; backup: RunResult; restore: RunResult; check?: RunResult }[];
}

/** `n` files of 10–200 bytes (like checkpoints' small metadata), 500 to a folder. */
export async function makeTinyTree(root: string, n: number): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  for (let d = 0; d * 500 < n; d++) {
    const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
    await fsp.mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * 500; i < Math.min(n, (d + 1) * 500); i++) {
      const body = `object ${i} ${'x'.repeat(i % 190)}\n`;
      bytes += body.length;
      writes.push(fsp.writeFile(path.join(dir, `f${String(i).padStart(6, '0')}`), body));
    }
    await Promise.all(writes);
  }
  return { files: n, bytes };
}

/** Copies files of /usr/lib (in walk order, none over 16 MiB) until `maxFiles` or `maxBytes`. */
export async function makeUsrLibTree(root: string, maxFiles = 8000, maxBytes = 400 * 1024 * 1024): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const visit = async (src: string, dst: string): Promise<void> => {
    let names: string[];
    try {
      names = (await fsp.readdir(src)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (files >= maxFiles || bytes >= maxBytes) return;
      const s = path.join(src, name);
      const st = await fsp.lstat(s).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await visit(s, path.join(dst, name));
      else if (st.isFile() && st.size <= 16 * 1024 * 1024) {
        await fsp.mkdir(dst, { recursive: true });
        if (await fsp.copyFile(s, path.join(dst, name)).then(() => true, () => false)) {
          files++;
          bytes += st.size;
        }
      }
    }
  };
  await visit('/usr/lib', root);
  return { files, bytes };
}

/** Backup, restore and check of `src` by each tool into fresh repositories under `work`. */
export async function runSmallWorkload(name: string, id: string, src: string, shape: { files: number; bytes: number }, tools: BackupTool[], log: (s: string) => void): Promise<SmallWorkload> {
  const w: SmallWorkload = { name, ...shape, results: [] };
  for (const t of tools) {
    await t.init();
    log(`${name}: ${t.name} backup`);
    await dropCaches();
    const backup = await t.backup(src, id);
    log(`${name}: ${t.name} restore`);
    const dest = `${src}.restore-${t.name}`;
    await dropCaches();
    const restore = await t.restore(id, dest);
    await fsp.rm(dest, { recursive: true, force: true });
    let check: RunResult | undefined;
    if (t.check) {
      log(`${name}: ${t.name} check (reading every byte)`);
      await dropCaches();
      check = await t.check(id);
    }
    w.results.push({ tool: t.name, backup, restore, check });
    await fsp.rm(t.repo, { recursive: true, force: true });
  }
  return w;
}
