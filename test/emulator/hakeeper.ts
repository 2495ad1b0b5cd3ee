/**
 * HAKeeper backup data, `hakeeper/hk_data` (proto/logservice.proto message BackupData:
 * `uint64 NextID = 1; map<string, uint64> NextIDByKey = 2;`), in protobuf wire format, and
 * the log service's checks on it (pkg/logservice/service_bootstrap.go parseBackupData: no
 * watermark at all, or an exhausted one, is refused).
 */
export interface BackupData {
  nextID: bigint;
  nextIDByKey: Record<string, bigint>;
}

function varint(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

export function encodeBackupData(d: BackupData): Buffer {
  const out: number[] = [];
  if (d.nextID !== 0n) out.push(0x08, ...varint(d.nextID));
  for (const k of Object.keys(d.nextIDByKey).sort()) {
    const key = Buffer.from(k, 'utf8');
    const entry = [0x0a, ...varint(BigInt(key.length)), ...key, 0x10, ...varint(d.nextIDByKey[k]!)];
    out.push(0x12, ...varint(BigInt(entry.length)), ...entry);
  }
  return Buffer.from(out);
}

export function decodeBackupData(b: Uint8Array): BackupData {
  let i = 0;
  const readVarint = (end: number): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= end) throw new Error('unexpected EOF');
      const x = b[i++]!;
      v |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('proto: integer overflow');
    }
  };
  const d: BackupData = { nextID: 0n, nextIDByKey: {} };
  while (i < b.length) {
    const tag = Number(readVarint(b.length));
    const field = tag >> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) d.nextID = readVarint(b.length);
    else if (field === 2 && wire === 2) {
      const len = Number(readVarint(b.length));
      const end = i + len;
      if (end > b.length) throw new Error('unexpected EOF');
      let key = '';
      let val = 0n;
      while (i < end) {
        const t = Number(readVarint(end));
        if (t === 0x0a) {
          const n = Number(readVarint(end));
          key = Buffer.from(b.subarray(i, i + n)).toString('utf8');
          i += n;
        } else if (t === 0x10) val = readVarint(end);
        else throw new Error(`proto: illegal tag ${t}`);
      }
      d.nextIDByKey[key] = val;
    } else throw new Error(`proto: BackupData: illegal tag ${field} (wire type ${wire})`);
  }
  const max = 0xffffffffffffffffn;
  if (d.nextID === 0n && Object.keys(d.nextIDByKey).length === 0) throw new Error('invalid input: HAKeeper backup contains no ID watermarks');
  if (d.nextID === max || Object.values(d.nextIDByKey).includes(max)) throw new Error('invalid input: HAKeeper backup NextID is exhausted');
  return d;
}
