/**
 * A minimal WebAssembly module writer: enough of the binary format (WebAssembly Core
 * Specification 1.0, §5 "Binary Format") to emit one memory and a few i32 functions, so a hot
 * loop can run as WASM without a committed binary or a build tool. Function bodies are byte
 * arrays built with the instruction helpers below.
 */

/** Value type i32 (§5.3.1). */
export const I32 = 0x7f;

/** Unsigned LEB128 (§5.2.2). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (§5.2.2). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'ascii')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Instructions (§5.4), each returning its bytes. Memory accesses take a constant offset. */
export const ins = {
  block: (): number[] => [0x02, 0x40],
  loop: (): number[] => [0x03, 0x40],
  if: (): number[] => [0x04, 0x40],
  end: (): number[] => [0x0b],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  return: (): number[] => [0x0f],
  localGet: (i: number): number[] => [0x20, ...uleb(i)],
  localSet: (i: number): number[] => [0x21, ...uleb(i)],
  localTee: (i: number): number[] => [0x22, ...uleb(i)],
  i32Load: (offset: number): number[] => [0x28, 2, ...uleb(offset)],
  i32Load8u: (offset: number): number[] => [0x2d, 0, ...uleb(offset)],
  i32Store: (offset: number): number[] => [0x36, 2, ...uleb(offset)],
  i32Const: (n: number): number[] => [0x41, ...sleb(n)],
  i32Eqz: (): number[] => [0x45],
  i32GeU: (): number[] => [0x4f],
  i32GtU: (): number[] => [0x4b],
  i32Add: (): number[] => [0x6a],
  i32And: (): number[] => [0x71],
  i32Shl: (): number[] => [0x74],
};

export interface FuncDef {
  /** Export name. */
  name: string;
  params: number[];
  results: number[];
  /** Types of the locals after the parameters. */
  locals: number[];
  /** The instructions, without the final `end`. */
  body: number[];
}

/** A module with one memory (exported as "memory", `pages` × 64 KiB) and the given functions, all exported. */
export function buildModule(pages: number, funcs: FuncDef[]): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const bodies = funcs.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const exports = [[...name('memory'), 0x02, 0], ...funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // magic "\0asm", version 1
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])), // limits: min only
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}
