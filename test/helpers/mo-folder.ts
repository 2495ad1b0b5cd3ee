/**
 * A MatrixOne backup folder written by hand from literal bytes, as a v1.2+ server (and mo_br)
 * would leave it — independent of src/ (reference CRC-32C and framing, literal CSV) so that
 * tests of mobr's readers and writers cannot agree with a mistake of mobr's own writers.
 * Framing (pkg/fileservice/file_with_checksum.go): 2048-byte blocks, a 4-byte little-endian
 * CRC-32C of the block's data then up to 2044 data bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { crc32c as crc32cRef, localFsFrame as frameRef } from './mo-fixture.js';

/** CRC-32C and LocalFS framing: the hand-written reference of mo-fixture.ts (independent of src/ too). */
export { crc32cRef, frameRef };

export const sha256 = (d: Uint8Array): Buffer => createHash('sha256').update(d).digest();

export const OBJ = '018f7a41-1881-7999-bbd6-858c3d4acc18_00000';
export const REWRITTEN = '018f7a41-1881-7999-bbd6-858c3d4acc18_01000';
export const CKP = 'ckp/meta_0-0_1715745404915410000-1.ckp';
export const TN_CONFIG = 'tn.toml_018f7a50-d30c-7ed0-85bc-191e9f1eb753';
export const LOG_CONFIG = 'log.toml_018f7a50-d300-7017-8580-150edf08733e';
/** HAKeeper pb.BackupData{NextID: 42}: field 1, varint. */
export const HK_DATA = Buffer.from([0x08, 0x2a]);

const BUILDINFO = 'GoVersion: go1.22.3|BranchName: HEAD|CommitID: 1234abc|BuildTime: 20240515|Version: v1.2.0';

/** Files written through writeFile (with a sidecar). */
export const WRITTEN = (p: string): boolean => ['mo_meta', 'backup_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data'].includes(p) || p.startsWith('config/');

export function bytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface FolderOptions {
  /** DISK target: tae/ and hakeeper/ framed, their sidecars too. */
  framed?: boolean;
  /** mo_br's /backup_meta with this ID. */
  backupMetaId?: string;
  /** Launch configs carried under config/ (text), by mo_meta subtype. */
  configs?: { dn?: string; log?: string };
  /** Sidecars beside written files (false: the layout alone, to back up as a plain tree). */
  sidecars?: boolean;
}

/** Logical content of every file of the layout (no sidecars). */
export function layoutFiles(o: FolderOptions = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const obj = bytes(1, 5000); // three LocalFS blocks
  const rewritten = bytes(2, 2044); // exactly one block
  const ckp = Buffer.from('checkpoint meta of the emulated cluster\n');
  let meta = `version,0823,\nbuildinfo,${BUILDINFO},\n`;
  if (o.configs?.dn !== undefined) {
    meta += `launchconfig,dn,${TN_CONFIG}\n`;
    files.set(`config/${TN_CONFIG}`, Buffer.from(o.configs.dn));
  }
  if (o.configs?.log !== undefined) {
    meta += `launchconfig,log,${LOG_CONFIG}\n`;
    files.set(`config/${LOG_CONFIG}`, Buffer.from(o.configs.log));
  }
  files.set('mo_meta', Buffer.from(meta));
  files.set(`tae/${OBJ}`, obj);
  files.set(`tae/${REWRITTEN}`, rewritten);
  files.set(`tae/${CKP}`, ckp);
  const list =
    `${OBJ},5000,${sha256(obj).toString('hex')},true,1715745404915400000-1\n` +
    `${REWRITTEN},2044,,true,1715745404915410000-1\n` +
    `${CKP},${ckp.length},,true,1715745404915410000-1\n`;
  files.set('tae/tae_list', Buffer.from(list));
  files.set('tae/tae_sum', Buffer.from(`2024-05-15 03:56:44,${5000 + 2044 + ckp.length},1715745404915410000-1,\n`));
  files.set('hakeeper/hk_data', HK_DATA);
  if (o.backupMetaId) files.set('backup_meta', Buffer.from(`id,${o.backupMetaId},\nversion,0823,\nbuildinfo,${BUILDINFO},\n`));
  return files;
}

const FRAMED = (p: string) => p.startsWith('tae/') || p.startsWith('hakeeper/');

/** Writes the folder; returns the logical content of each layout file. */
export async function writeMoFolder(dir: string, o: FolderOptions = {}): Promise<Map<string, Buffer>> {
  const files = layoutFiles(o);
  const put = async (rel: string, data: Buffer) => {
    const file = path.join(dir, ...rel.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, o.framed && FRAMED(rel) ? frameRef(data) : data);
  };
  for (const [rel, data] of files) {
    await put(rel, data);
    if (o.sidecars !== false && WRITTEN(rel)) await put(`${rel}.sha256`, sha256(data));
  }
  return files;
}
