/**
 * Backup folders as a real MatrixOne writes them, built by hand for tests from MatrixOne's source
 * (matrixorigin/matrixone), never with mobr's own writers:
 * - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and LocalFS framing
 *   (pkg/fileservice/file_with_checksum.go: 2048-byte blocks, 4-byte little-endian CRC-32C of the
 *   block's data, then up to 2044 data bytes), pinned by the vectors in the tests;
 * - tae_list rows `path,size,checksum,needCopy,ts` (v1.2+) or `path,size,checksum` (before),
 *   tae_sum `time,size,backupTS,type` or `time,size` (pkg/backup/types.go), written as literal
 *   CSV lines (no field needs quoting);
 * - `.sha256` sidecars of the files written through writeFile (pkg/backup/fs.go), framed like
 *   every other file under tae/ and hakeeper/ on a DISK target; mo_meta and config/ raw.
 * Nothing here imports src/.
 */
import { createHash } from 'node:crypto';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** LocalFS framing of `b` (a DISK fileservice's bytes on disk). */
export function localFsFrame(b: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < b.length; off += 2044) {
    const piece = b.subarray(off, Math.min(b.length, off + 2044));
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32c(piece));
    parts.push(crc, Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

export const sha256hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** Deterministic content of an object file: n bytes from a seed (no two seeds alike). */
export function objectBytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export const OBJ = {
  a: '018f7a41-1881-7999-bbd6-858c3d4acc18_00000',
  b: '018f7a41-1881-7999-bbd6-858c3d4acc18_00001',
  rewritten: '018f7a41-1881-7999-bbd6-858c3d4acc18_01000',
  ckpData: '018f7a52-0000-7000-8000-000000000001_00000',
  ckpMeta: 'ckp/meta_0-0_1715745404915410000-1.ckp',
  gcMeta: 'gc/gc_1715745300000000000-0_1715745400000000000-0.fgc',
};

/** One tae/ file of a fixture. */
export interface FixtureFile {
  path: string; // relative to tae/
  data: Buffer;
  /** 'sha' fills the server's SHA-256; '' leaves it empty as the server does for files it wrote itself */
  checksum: 'sha' | '';
  needCopy: boolean;
  ts: string;
  /** false: listed but not written (needCopy=false, or already at the target) */
  staged?: boolean;
  /** the size tae_list gives, when not the file's (a GC window row of v2.0.1-v4.1.x gives its GC meta's) */
  listedSize?: number;
}

export interface FixtureOptions {
  framing: 'crc' | 'raw';
  /** 5 (v1.2+) or 3 (before v1.2) fields per tae_list row; 3 also means a 2-field tae_sum */
  fields?: 5 | 3;
  files?: FixtureFile[];
  backupTime?: string;
  backupTs?: string;
  type?: string;
  sidecars?: boolean;
}

export const MO_META =
  'version,0823,\n' +
  'buildinfo,GoVersion: go1.22.3|BranchName: HEAD|CommitID: 3f4a2c1|BuildTime: 20240513-0930|Version: v1.2.0,\n' +
  'launchconfig,dn,tn.toml_018f7a41-0000-7000-8000-00000000d001\n';
export const TN_TOML = 'service-type = "TN"\ndata-dir = "./mo-data"\n\n[[fileservice]]\nname = "SHARED"\nbackend = "DISK"\n';
/** hk_data: a protobuf pb.BackupData (field 1 NextID = 100, field 2 NextIDByKey {"k": 7}). */
export const HK_DATA = Buffer.from('086412050a016b1007', 'hex');

/** The six files of a typical v1.2+ backup: copied objects, a rewritten object, a merged ckp meta, a new checkpoint data object. */
export function typicalFiles(): FixtureFile[] {
  return [
    { path: OBJ.a, data: objectBytes(1, 5000), checksum: 'sha', needCopy: true, ts: '1715745400000000000-0' },
    { path: OBJ.b, data: objectBytes(2, 2044), checksum: 'sha', needCopy: true, ts: '1715745400000000000-0' },
    { path: OBJ.rewritten, data: objectBytes(3, 3000), checksum: '', needCopy: true, ts: '1715745404915410000-1' },
    { path: OBJ.ckpMeta, data: objectBytes(4, 300), checksum: '', needCopy: true, ts: '1715745404915410000-1' },
    { path: OBJ.ckpData, data: objectBytes(5, 1024), checksum: '', needCopy: true, ts: '1715745404915410000-1' },
    { path: OBJ.gcMeta, data: objectBytes(6, 100), checksum: 'sha', needCopy: true, ts: '1715745404915410000-1' },
  ];
}

/** The files a backup folder holds (path -> bytes on disk), plus the logical bytes of each. */
export function buildLayout(o: FixtureOptions): { layout: Record<string, Buffer>; logical: Map<string, Buffer> } {
  const files = o.files ?? typicalFiles();
  const fields = o.fields ?? 5;
  const onDisk = (rel: string, b: Buffer) => (o.framing === 'crc' && (rel.startsWith('tae/') || rel.startsWith('hakeeper/')) ? localFsFrame(b) : b);
  const layout: Record<string, Buffer> = {};
  const logical = new Map<string, Buffer>();
  const put = (rel: string, b: Buffer, sidecar: boolean) => {
    layout[rel] = onDisk(rel, b);
    logical.set(rel, b);
    if (sidecar && o.sidecars !== false) layout[`${rel}.sha256`] = onDisk(rel, createHash('sha256').update(b).digest());
  };
  const lines = files.map((f) => {
    const sum = f.checksum === 'sha' ? sha256hex(f.data) : '';
    const size = f.listedSize ?? f.data.length;
    return fields === 5 ? `${f.path},${size},${sum},${f.needCopy},${f.ts}` : `${f.path},${size},${sum}`;
  });
  const size = files.reduce((s, f) => s + (f.listedSize ?? f.data.length), 0);
  const time = o.backupTime ?? '2024-05-15 03:56:44';
  const sumLine = fields === 5 ? `${time},${size},${o.backupTs ?? '1715745404915410000-1'},${o.type ?? ''}` : `${time},${size}`;
  put('mo_meta', Buffer.from(MO_META), true);
  put('config/tn.toml_018f7a41-0000-7000-8000-00000000d001', Buffer.from(TN_TOML), true);
  for (const f of files) if (f.staged !== false) put(`tae/${f.path}`, f.data, false);
  put('tae/tae_list', Buffer.from(lines.map((l) => `${l}\n`).join('')), true);
  put('tae/tae_sum', Buffer.from(`${sumLine}\n`), true);
  put('hakeeper/hk_data', HK_DATA, true);
  return { layout, logical };
}

/** The content of LocalFS-framed bytes, or undefined when a block's CRC does not match. */
export function localFsUnframe(b: Uint8Array): Buffer | undefined {
  const parts: Buffer[] = [];
  for (let off = 0; off < b.length; off += 2048) {
    const block = Buffer.from(b.subarray(off, Math.min(b.length, off + 2048)));
    if (block.length < 4 || block.readUInt32LE(0) !== crc32c(block.subarray(4))) return undefined;
    parts.push(block.subarray(4));
  }
  return Buffer.concat(parts);
}
