/**
 * The gear scan, FastCDC's whole cost (spec/repository.md §4.2), in two implementations with the
 * same results: WebAssembly (gear-wasm.ts, ~2.5× faster a core) and plain JavaScript, the
 * fallback where WebAssembly cannot run. MOBR_CHUNKER=js forces the fallback (for tests and for
 * comparing the two).
 */
import { GEAR, type ChunkerBackend, type GearScanner } from './gear.js';
import { createWasmScanner } from './gear-wasm.js';

export type { ChunkerBackend, GearScanner } from './gear.js';

/**
 * The JavaScript scan over a gear table, unrolled by 8: one check a byte in a plain loop ran at
 * ~500 MB/s, this at ~1 GB/s.
 */
function makeJsScan(G: Int32Array): { scan: GearScanner['scan']; state: () => number } {
  let state = 0;
  const scan = (block: Uint8Array, i: number, end: number, h: number, mask: number): number => {
    const end8 = end - 7;
    for (; i < end8; i += 8) {
      h = ((h << 1) + G[block[i]]) | 0;
      if ((h & mask) === 0) return i + 1;
      h = ((h << 1) + G[block[i + 1]]) | 0;
      if ((h & mask) === 0) return i + 2;
      h = ((h << 1) + G[block[i + 2]]) | 0;
      if ((h & mask) === 0) return i + 3;
      h = ((h << 1) + G[block[i + 3]]) | 0;
      if ((h & mask) === 0) return i + 4;
      h = ((h << 1) + G[block[i + 4]]) | 0;
      if ((h & mask) === 0) return i + 5;
      h = ((h << 1) + G[block[i + 5]]) | 0;
      if ((h & mask) === 0) return i + 6;
      h = ((h << 1) + G[block[i + 6]]) | 0;
      if ((h & mask) === 0) return i + 7;
      h = ((h << 1) + G[block[i + 7]]) | 0;
      if ((h & mask) === 0) return i + 8;
    }
    for (; i < end; i++) {
      h = ((h << 1) + G[block[i]]) | 0;
      if ((h & mask) === 0) return i + 1;
    }
    state = h;
    return -1;
  };
  return { scan, state: () => state };
}

/** The JavaScript scanner over a gear table (the default one unless given). */
function createJsScanner(gear: Int32Array = GEAR): GearScanner {
  return { backend: 'js', ...makeJsScan(gear) };
}

export const jsScanner: GearScanner = createJsScanner();

/** Fixed self-check input: a scanner that disagrees with the JavaScript one here is not used. */
function agrees(s: GearScanner, js: GearScanner): boolean {
  const data = new Uint8Array(70_000);
  let x = 1;
  for (let i = 0; i < data.length; i++) data[i] = x = (x * 1103515245 + 12345) >>> 16;
  for (const mask of [(~0 << 22) | 0, (~0 << 26) | 0, -1]) {
    let i = 3;
    let h = 7;
    for (;;) {
      const a = js.scan(data, i, data.length, h, mask);
      const b = s.scan(data, i, data.length, h, mask);
      if (a !== b) return false;
      if (a < 0) {
        if (js.state() !== s.state()) return false;
        break;
      }
      [i, h] = [a, 0];
    }
  }
  return true;
}

/**
 * Makes a scanner over `gear` (the default table unless given; an encrypted repository's is
 * secret): the WASM one unless `prefer` is 'js' or it cannot be built (or self-checked).
 */
export function createScanner(o: { prefer?: ChunkerBackend; load?: (gear: Int32Array) => GearScanner; gear?: Int32Array } = {}): GearScanner {
  const gear = o.gear ?? GEAR;
  const js = gear === GEAR ? jsScanner : createJsScanner(gear);
  const prefer = o.prefer ?? (process.env.MOBR_CHUNKER === 'js' ? 'js' : 'wasm');
  if (prefer === 'js') return js;
  try {
    const s = (o.load ?? createWasmScanner)(gear);
    if (agrees(s, js)) return s;
  } catch {
    // no WebAssembly here: the JavaScript scan gives the same cut points
  }
  return js;
}

let shared: GearScanner | undefined;
const keyed = new WeakMap<Int32Array, GearScanner>();

/** This thread's scanner over `gear` (the default table unless given), made on first use. */
export function defaultScanner(gear?: Int32Array): GearScanner {
  if (gear && gear !== GEAR) {
    let s = keyed.get(gear);
    if (!s) keyed.set(gear, (s = createScanner({ gear })));
    return s;
  }
  shared ??= createScanner();
  return shared;
}
