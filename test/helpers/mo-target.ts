/**
 * Reading a MatrixOne backup target in tests, independently of mobr's src/ and of the emulator's
 * writers: LocalFS unframing with the native CRC-32C (@node-rs/crc32), tae_list / tae_sum split
 * by hand (their fields never need CSV quoting), and a SQL helper over mysql2.
 */
import { crc32c } from '@node-rs/crc32';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/** Content of a DISK (CRC-framed) file; throws on a bad block. */
export function unframeNative(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < b.length; o += 2048) {
    const blk = b.subarray(o, Math.min(o + 2048, b.length));
    if (crc32c(blk.subarray(4)) !== blk.readUInt32LE(0)) throw new Error(`bad CRC block at ${o}`);
    parts.push(blk.subarray(4));
  }
  return Buffer.concat(parts);
}

export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface ListRow {
  path: string;
  size: number;
  checksum: string;
  needCopy?: boolean;
  ts?: string;
}

export function parseList(text: string): ListRow[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const f = l.split(',');
    return { path: f[0]!, size: Number(f[1]), checksum: f[2]!, ...(f.length > 3 ? { needCopy: f[3] === 'true', ts: f[4]! } : {}) };
  });
}

/** Reads a FILESYSTEM target: `framed` says whether tae/ and hakeeper/ are CRC-framed. */
export function target(dir: string, framed: boolean) {
  const tae = async (rel: string) => {
    const b = await readFile(join(dir, rel));
    return framed ? unframeNative(b) : b;
  };
  return {
    tae,
    raw: (rel: string) => readFile(join(dir, rel)),
    async list() {
      return parseList((await tae('tae/tae_list')).toString());
    },
    async sum() {
      return (await tae('tae/tae_sum')).toString().replace(/\n$/, '').split(',');
    },
  };
}

export async function sql(where: { host: string; port: number }, ...statements: string[]): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection({ host: where.host, port: where.port, user: 'dump', password: '111' });
  try {
    let last: Record<string, unknown>[] = [];
    for (const s of statements) {
      const [rows] = await c.query(s);
      last = Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    }
    return last;
  } finally {
    await c.end();
  }
}
