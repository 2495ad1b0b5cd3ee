/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as Go's
 * `crc32.MakeTable(crc32.Castagnoli)` computes it for MatrixOne's LocalFS blocks
 * (pkg/fileservice/file_with_checksum.go). The emulator's own copy, independent of src/.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of data[start, end). */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
