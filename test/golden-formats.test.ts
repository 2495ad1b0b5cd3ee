/**
 * Golden vectors: the exact bytes of every on-disk format of repository version 1
 * (spec/repository.md §3–§7), computed once and frozen here. Changing an encoder, a decoder,
 * the gear table or the chunker in both directions at once still fails these tests: a format
 * change is made as spec/repository.md §10 says, never by editing a vector.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GEAR } from '../src/chunk/gear.js';
import { DEFAULT_CHUNKER, FastCDC, type ChunkerParams } from '../src/chunk/fastcdc.js';
import { codecReady, decodeChunk } from '../src/chunk/codec.js';
import { blake3, blake3Ready } from '../src/hash/blake3.js';
import { decodeConfig, encodeConfig, type RepoConfig } from '../src/repo/config.js';
import { PackBuilder, checkPack } from '../src/repo/pack.js';
import { decodeIndex, encodeIndex } from '../src/repo/index-file.js';
import { decodeManifest, encodeManifest, type Manifest } from '../src/repo/manifest.js';
import { listedSizeOf } from '../src/mo/listed-size.js';
import { xorshiftBytes as prng } from './helpers/xorshift.js';


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function cutPoints(data: Buffer, p: ChunkerParams, block: number): { ends: number[]; chunks: Uint8Array[] } {
  const cdc = new FastCDC(p);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += block) chunks.push(...cdc.push(data.subarray(i, i + block)));
  chunks.push(...cdc.finish());
  let end = 0;
  return { ends: chunks.map((c) => (end += c.length)), chunks };
}

await blake3Ready();
await codecReady();

describe('golden vectors, repository format v1', () => {
  it('§4.1 gear table', () => {
    const bytes = Buffer.alloc(1024);
    GEAR.forEach((g, i) => bytes.writeInt32LE(g, i * 4));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('e4f35de954fa2df3b22464e23535d8d3748c9414d05546a618fe1664fb384e25');
    expect([(GEAR[0]! >>> 0).toString(16), (GEAR[255]! >>> 0).toString(16)]).toEqual(['8c13757d', '860b76cf']);
  });

  it('§4.2 cut points of a fixed input, small parameters, whatever the read size', () => {
    const want = [
      1770, 8334, 14716, 20404, 24657, 29375, 36643, 41932, 47632, 51918, 56410, 57959, 62254, 66568, 70471, 75034, 79147, 84818, 89395, 93702, 97923,
      103552, 107767, 111220, 115927, 120041, 125143, 129471, 133684, 134714, 139317, 144264, 150017, 151915, 159714, 165190, 169598, 174133, 178972,
      180423, 186219, 191473, 195787, 204279, 209973, 216231, 220418, 226062, 227439, 231788, 236198, 240839, 243940, 248108, 249377, 254016, 258252,
      262144,
    ];
    const input = prng(7, 256 * 1024);
    for (const block of [65536, 1000, 7]) {
      expect(cutPoints(input, { min: 1024, avg: 4096, max: 16384 }, block).ends).toEqual(want);
    }
  });

  it('§4.2 cut points with the default parameters (256 KiB / 1 MiB / 4 MiB)', () => {
    const want = [1236487, 2930650, 4303024, 5384661, 6444565, 7542993, 8800042, 10066129, 11304842, 11719532, 12582912];
    expect(cutPoints(prng(9, 12 << 20), DEFAULT_CHUNKER, 1 << 20).ends).toEqual(want);
  });

  it('§1 chunk ids are BLAKE3-256 of the plain bytes', () => {
    const { chunks } = cutPoints(prng(7, 256 * 1024), { min: 1024, avg: 4096, max: 16384 }, 65536);
    expect(chunks.slice(0, 3).map((c) => hex(blake3(c)))).toEqual([
      '3e9e0883f80a4ec8d2c69f56d106cd8a125a645fe1ddfdc03a67ec03277760b3',
      '302f14384c95b422afdae0fc5e7e5a4cc312c3b11e2a94f6dba244d184052287',
      '28f0c2448870480f20de3480dbc9994a416c32de89240ac880369b531a728c1c',
    ]);
    expect(hex(blake3(new Uint8Array()))).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  const CONFIG: RepoConfig = {
    version: 1,
    id: '00112233445566778899aabbccddeeff',
    createdAt: 1764475200000,
    chunker: { algorithm: 'fastcdc-mobr-v1', min: 262144, avg: 1048576, max: 4194304 },
    hash: 'blake3-256',
    packSize: 16777216,
    compression: 'auto',
  };
  const CONFIG_BYTES =
    '4d4f4252430187a776657273696f6e01a26964d9203030313132323333343435353636373738383939616162626363646465656666a9637265617465644174cf0000019ad2eae200a76368756e6b657284a9616c676f726974686daf666173746364632d6d6f62722d7631a36d696ece00040000a3617667ce00100000a36d6178ce00400000a468617368aa626c616b65332d323536a87061636b53697a65ce01000000ab636f6d7072657373696f6ea46175746f3d10fd29dc878b12faa505531baf191cf2f6a479a38088ff0103c2373ed7e086';

  it('§3.1 config: exact bytes, both ways', () => {
    expect(hex(encodeConfig(CONFIG))).toBe(CONFIG_BYTES);
    expect(decodeConfig(unhex(CONFIG_BYTES), 'golden config')).toEqual(CONFIG);
  });

  const A = Buffer.from('hello mobr');
  const B = prng(3, 40);
  const PACK_ID = 'dbd9e17bc08ebc83a50dd6137b208f2e4a9199a825bf1d6660449f8752060a79';
  const PACK_BYTES =
    '68656c6c6f206d6f627263034749cbf343040f4f010a838acb4fb7f7a482bb5161d6154da1d1fbe79463d053dd9ed8459bda83a17601a5626c6f62739295c420ac1adc74cb26e6bdfacea9cf3a570da7db63f8ff7a9c9c9b1d3f7391fbe8057b000a0a0095c4209df715c23b5e26773075b03bebecfcb559f1691c65bebc38d0e8a69de93733680a282800a168c42084795f7fdf428f6147590025884ad760aa41023aba1612701ce814d575f553367d0000004d4f4252504b3031';

  it('§5 pack: exact bytes and name, and the frozen bytes check sound', () => {
    const pb = new PackBuilder(1024);
    pb.add(blake3(A), A, A.length, 0);
    pb.add(blake3(B), B, B.length, 0);
    const built = pb.build();
    expect(built.id).toBe(PACK_ID);
    expect(hex(built.bytes)).toBe(PACK_BYTES);
    const { blobs, dataOk } = checkPack(unhex(PACK_BYTES), PACK_ID, 'golden pack');
    expect(dataOk).toBe(true);
    expect(blobs.map((b) => [hex(b.id), b.offset, b.length, b.rawLength, b.codec])).toEqual([
      [hex(blake3(A)), 0, 10, 10, 0],
      [hex(blake3(B)), 10, 40, 40, 0],
    ]);
  });

  it('§5.2 a frozen zstd blob decodes (codec 1)', () => {
    const stored = unhex('28b52ffd60e802650000286d6f6272200100e051152d');
    expect(Buffer.from(decodeChunk(stored, 1, 1000)).toString()).toBe('mobr '.repeat(200));
  });

  const INDEX_BYTES =
    '4d4f4252490181a57061636b739182a26964c420dbd9e17bc08ebc83a50dd6137b208f2e4a9199a825bf1d6660449f8752060a79a5626c6f62739295c420ac1adc74cb26e6bdfacea9cf3a570da7db63f8ff7a9c9c9b1d3f7391fbe8057b000a0a0095c4209df715c23b5e26773075b03bebecfcb559f1691c65bebc38d0e8a69de93733680a282800ede5b063fb81bde2631e570ed1d687c0f370665cc0c5056714ab848917fcd942';

  it('§6 index object: exact bytes, both ways', () => {
    const blobs = [
      { id: blake3(A), offset: 0, length: 10, rawLength: 10, codec: 0 },
      { id: blake3(B), offset: 10, length: 40, rawLength: 40, codec: 0 },
    ];
    expect(hex(encodeIndex([{ id: PACK_ID, blobs }]))).toBe(INDEX_BYTES);
    const back = decodeIndex(unhex(INDEX_BYTES), 'golden index');
    expect(back.map((p) => ({ id: p.id, blobs: p.blobs.map((b) => ({ ...b, id: hex(b.id) })) }))).toEqual([{ id: PACK_ID, blobs: blobs.map((b) => ({ ...b, id: hex(b.id) })) }]);
  });

  const MANIFEST: Manifest = {
    version: 1,
    id: 'golden-1',
    type: 'incremental',
    baseId: 'golden-0',
    backupTs: '1764475200000000000-1',
    startedAt: 1764475200000,
    completedAt: 1764475201000,
    source: { kind: 'matrixone', host: '127.0.0.1', port: 6001 },
    files: [
      { path: 'dir', kind: 'dir', size: 0, mode: 0o755, mtimeMs: 1764475100000 },
      {
        path: 'dir/a',
        kind: 'file',
        size: 50,
        mode: 0o644,
        mtimeMs: 1764475100001,
        sha256: createHash('sha256').update(Buffer.concat([A, B])).digest(),
        chunks: Buffer.concat([blake3(A), blake3(B)]),
        meta: { checksum: '', needCopy: 'true', ts: '1-0' },
      },
      { path: 'l', kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 1764475100002, target: 'dir/a' },
    ],
    logicalSize: 50,
    addedBytes: 50,
    extra: { moType: '' },
  };
  const MANIFEST_BYTES =
    '4d4f42524d018ca776657273696f6e01a26964a8676f6c64656e2d31a474797065ab696e6372656d656e74616ca6626173654964a8676f6c64656e2d30a86261636b75705473b5313736343437353230303030303030303030302d31a9737461727465644174cf0000019ad2eae200ab636f6d706c657465644174cf0000019ad2eae5e8a6736f7572636583a46b696e64a96d61747269786f6e65a4686f7374a93132372e302e302e31a4706f7274cd1771a566696c65739385a170a3646972a16ba3646972a17300a16dcd01eda174cf0000019ad2e95b6088a170a56469722f61a16ba466696c65a17332a16dcd01a4a174cf0000019ad2e95b61a168c4207a2aa31960dbe334376aaa8f4df143705ce6ba3df0fbfd114d96830d17975d21a163c440ac1adc74cb26e6bdfacea9cf3a570da7db63f8ff7a9c9c9b1d3f7391fbe8057b9df715c23b5e26773075b03bebecfcb559f1691c65bebc38d0e8a69de9373368a17883a8636865636b73756da0a86e656564436f7079a474727565a27473a3312d3086a170a16ca16ba773796d6c696e6ba17300a16dcd01ffa174cf0000019ad2e95b62a16ca56469722f61ab6c6f676963616c53697a6532aa6164646564427974657332a5657874726181a66d6f54797065a068fb1a6b0e62f99e1541346bc61f79c42416ee005866914835f3ec0c20382b89';

  it('§7 manifest: exact bytes, both ways', () => {
    expect(hex(encodeManifest(MANIFEST))).toBe(MANIFEST_BYTES);
    const back = decodeManifest(unhex(MANIFEST_BYTES), 'golden manifest');
    const plain = (m: Manifest) => ({ ...m, files: m.files.map((f) => ({ ...f, sha256: f.sha256 && hex(f.sha256), chunks: f.chunks && hex(f.chunks) })) });
    expect(plain(back)).toEqual(plain(MANIFEST));
  });

  // spec/repository.md §7 `x.listedSize`: a MatrixOne object whose tae_list row listed another
  // size (a GC window object of v2.0.1-v4.1.x); the manifest version stays 1
  const SHA_ABC = createHash('sha256').update('abc').digest();
  const MANIFEST_LISTED: Manifest = {
    version: 1, id: 'golden-gc', type: 'full', backupTs: '1764475200000000000-1', startedAt: 1764475200000, completedAt: 1764475201000,
    source: { kind: 'matrixone', host: '127.0.0.1', port: 6001 },
    files: [{
      path: 'tae/0193a0b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b_00000', kind: 'file', size: 3, mode: 0o644, mtimeMs: 1764475100001, sha256: SHA_ABC, chunks: new Uint8Array(32).fill(7),
      meta: { checksum: SHA_ABC.toString('hex'), needCopy: 'true', ts: '1764475200000000000-1', listedSize: '1234', sha256From: 'tae_list' },
    }],
    logicalSize: 3, addedBytes: 0, extra: { moType: '' },
  };
  const MANIFEST_LISTED_BYTES =
    '4d4f42524d018ba776657273696f6e01a26964a9676f6c64656e2d6763a474797065a466756c6ca86261636b75705473b5313736343437353230303030303030303030302d31a9737461727465644174cf0000019ad2eae200ab636f6d706c657465644174cf0000019ad2eae5e8a6736f7572636583a46b696e64a96d61747269786f6e65a4686f7374a93132372e302e302e31a4706f7274cd1771a566696c65739188a170d92e7461652f30313933613062322d376333642d376534662d386139622d3063316432653366346135625f3030303030a16ba466696c65a17303a16dcd01a4a174cf0000019ad2e95b61a168c420ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ada163c4200707070707070707070707070707070707070707070707070707070707070707a17885a8636865636b73756dd94062613738313662663866303163666561343134313430646535646165323232336230303336316133393631373761396362343130666636316632303031356164a86e656564436f7079a474727565a27473b5313736343437353230303030303030303030302d31aa6c697374656453697a65a431323334aa73686132353646726f6da87461655f6c697374ab6c6f676963616c53697a6503aa6164646564427974657300a5657874726181a66d6f54797065a03aafde069ffe4b65e85a354827460c560ef258f939fd1b0b391b849ceda1db34';

  it('§7 manifest with x.listedSize: exact bytes, both ways', () => {
    expect(hex(encodeManifest(MANIFEST_LISTED))).toBe(MANIFEST_LISTED_BYTES);
    const back = decodeManifest(unhex(MANIFEST_LISTED_BYTES), 'golden manifest');
    expect(back.version).toBe(1);
    expect(listedSizeOf(back.files[0]!)).toBe(1234);
    expect(back.files[0]!.size).toBe(3);
  });
});
