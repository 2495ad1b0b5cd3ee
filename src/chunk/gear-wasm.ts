/**
 * The gear scan of FastCDC (spec/repository.md §4.2) as a WebAssembly function, written by
 * wasm-module.ts when first used in a thread. Memory (2 pages):
 *   [0, 1024)         GEAR as 256 little-endian i32;
 *   [1024, 1028)      the hash state left by a scan that found no cut;
 *   [65536, 131072)   the bytes being scanned, copied in by `scan` at most PIECE at a time.
 * Same contract as the JavaScript scan in scanner.ts, and the same cut points.
 */
import { buildModule, I32, ins, type FuncDef } from './wasm-module.js';
import { GEAR, type GearScanner } from './gear.js';

const STATE = 1024;
const DATA = 65536;
const PIECE = 65536;
/** Bytes per iteration of the unrolled loop. */
const UNROLL = 8;

/** scan(p, end, h, mask): the gear loop over memory[p, end); returns just past the cut, or -1. */
function scanFunc(): FuncDef {
  const [p, end, h, mask] = [0, 1, 2, 3];
  // h = (h << 1) + GEAR[memory[p + k]]; if ((h & mask) == 0) return p + k + 1
  const step = (k: number, next: number[]) => [
    ...ins.localGet(h), ...ins.i32Const(1), ...ins.i32Shl(),
    ...ins.localGet(p), ...ins.i32Load8u(k), ...ins.i32Const(2), ...ins.i32Shl(), ...ins.i32Load(0),
    ...ins.i32Add(), ...ins.localTee(h), ...ins.localGet(mask), ...ins.i32And(), ...ins.i32Eqz(),
    ...ins.if(), ...ins.localGet(p), ...ins.i32Const(k + 1), ...ins.i32Add(), ...ins.return(), ...ins.end(),
    ...next,
  ];
  const advance = (n: number) => [...ins.localGet(p), ...ins.i32Const(n), ...ins.i32Add(), ...ins.localSet(p)];
  const unrolled: number[] = [];
  for (let k = 0; k < UNROLL; k++) unrolled.push(...step(k, []));
  const body = [
    // while (p + UNROLL <= end) { UNROLL steps; p += UNROLL }
    ...ins.block(), ...ins.loop(),
    ...ins.localGet(p), ...ins.i32Const(UNROLL), ...ins.i32Add(), ...ins.localGet(end), ...ins.i32GtU(), ...ins.brIf(1),
    ...unrolled, ...advance(UNROLL), ...ins.br(0),
    ...ins.end(), ...ins.end(),
    // while (p < end) { one step; p += 1 }
    ...ins.block(), ...ins.loop(),
    ...ins.localGet(p), ...ins.localGet(end), ...ins.i32GeU(), ...ins.brIf(1),
    ...step(0, advance(1)), ...ins.br(0),
    ...ins.end(), ...ins.end(),
    // no cut: keep h for the caller
    ...ins.i32Const(0), ...ins.localGet(h), ...ins.i32Store(STATE),
    ...ins.i32Const(-1),
  ];
  return { name: 'scan', params: [I32, I32, I32, I32], results: [I32], locals: [], body };
}

/** Compiles and instantiates the module (synchronously: it is a few hundred bytes) over a gear table (the default one unless given). */
export function createWasmScanner(gear: Int32Array = GEAR): GearScanner {
  const module = new WebAssembly.Module(buildModule(2, [scanFunc()]));
  const instance = new WebAssembly.Instance(module, {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const run = instance.exports.scan as (p: number, end: number, h: number, mask: number) => number;
  const bytes = new Uint8Array(memory.buffer);
  new Int32Array(memory.buffer, 0, 256).set(gear);
  const words = new Int32Array(memory.buffer, STATE, 1);
  let state = 0;
  return {
    backend: 'wasm',
    scan(block, i, end, h, mask) {
      // piece by piece, so a cut early in a long range copies little beyond it
      while (i < end) {
        const n = Math.min(PIECE, end - i);
        bytes.set(block.subarray(i, i + n), DATA);
        const r = run(DATA, DATA + n, h, mask);
        if (r >= 0) return i + (r - DATA);
        h = words[0];
        i += n;
      }
      state = h;
      return -1;
    },
    state: () => state,
  };
}
