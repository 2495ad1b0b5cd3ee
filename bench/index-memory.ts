/**
 * Bytes per chunk of the in-memory chunk index and of gc's live set (issue #22, spec/scale.md §3),
 * measured as a repository loads them. One mode a process, so peak RSS is its own:
 *   node --expose-gc --import tsx bench/index-memory.ts --mode load|decode|live --chunks 1000000
 * load: index objects read straight into the table (loadIndexInto, what Repository.loadIndex does);
 * decode: the way before it (decodeIndex, then addPack per pack record); live: gc's live set
 * (IdSet), every id added twice as two backups naming the same chunks do.
 * Index objects are made as a backup makes them: 16 chunks of ~1 MiB a pack, 32 packs an object;
 * each is encoded, then loaded, then dropped. Prints one JSON line: bytes per chunk of heap +
 * array buffers after a full gc (minus before), typed-array bytes, peak RSS, CPU seconds of the
 * loads alone.
 */
import { parseArgs } from 'node:util';
import { blake3Ready } from '../src/hash/blake3.js';
import { toHex } from '../src/hash/hex.js';
import { ChunkIndex, decodeIndex, encodeIndex, loadIndexInto, type PackRecord } from '../src/repo/index-file.js';
import { IdSet } from '../src/repo/id-set.js';

const { values } = parseArgs({ options: { mode: { type: 'string', default: 'load' }, chunks: { type: 'string', default: '1000000' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(values.chunks);
const mode = values.mode!;

let seed = 7;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
function randomId(): Uint8Array {
  const id = new Uint8Array(32);
  const v = new DataView(id.buffer);
  for (let k = 0; k < 32; k += 4) v.setUint32(k, next());
  return id;
}

function object(o: number, chunks: number): PackRecord[] {
  const packs: PackRecord[] = [];
  for (let p = 0; p * 16 < chunks; p++) {
    const blobs = Array.from({ length: Math.min(16, chunks - p * 16) }, (_, i) => ({ id: randomId(), offset: i * 1_050_000, length: 1_000_000 + (next() % 100_000), rawLength: 1_048_576, codec: 1 }));
    packs.push({ id: (o * 32 + p).toString(16).padStart(64, '0'), blobs });
  }
  return packs;
}

/** Heap + array buffers after full collections (array buffers are freed a turn after the gc that finds them dead). */
const used = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function main(): Promise<void> {
  await blake3Ready();
  const before = await used();
  const rssBefore = process.memoryUsage().rss;
  let cpu = 0;
  const index = new ChunkIndex();
  const live = new IdSet();
  for (let o = 0, left = n; left > 0; o++, left -= 512) {
    const packs = object(o, Math.min(512, left));
    if (mode === 'live') {
      const t = process.cpuUsage();
      for (let twice = 0; twice < 2; twice++) for (const p of packs) for (const b of p.blobs) live.add(toHex(b.id));
      cpu += sum(process.cpuUsage(t));
      continue;
    }
    const data = encodeIndex(packs);
    const t = process.cpuUsage();
    if (mode === 'load') loadIndexInto(index, data, `index/${o}`);
    else for (const p of decodeIndex(data, `index/${o}`)) index.addPack(p);
    cpu += sum(process.cpuUsage(t));
  }
  const t = process.cpuUsage();
  if (mode !== 'live') index.compact();
  cpu += sum(process.cpuUsage(t));
  const size = mode === 'live' ? live.size : index.size;
  const after = await used();
  const out = {
    mode,
    chunks: size,
    bytesPerChunk: +((after - before) / size).toFixed(1),
    typedArrayBytesPerChunk: +((mode === 'live' ? live.bytes : index.arrayBytes) / size).toFixed(1),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    rssAtStartMiB: Math.round(rssBefore / 2 ** 20),
    cpuSeconds: +cpu.toFixed(2),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const sum = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

void main();
