// The bundled CLI: dist/cli/, what ./mo_br runs (`npm run build` makes it after tsc).
//
// Why: a command spent most of its start-up loading ~100 compiled modules one by one (resolve,
// read, compile, link each; ~0.1–0.2 CPU-s of a 0.3–1.2 CPU-s run, again in every worker
// thread). esbuild joins them from dist/src/ (the compiled source, so what runs is what tsc
// checked) into one file per entry point, plus shared chunks that load when a command first
// needs them: each command's own modules still load only when it runs (program.ts).
//  - Entry points: the CLI (main.js) and the worker (chunk-worker.js), side by side; the pool
//    (src/workers/pool.ts) takes the one beside its chunk where __MOBR_CLI_BUNDLE__ is defined.
//  - Dependencies stay in node_modules (`packages: 'external'`): native bindings, zstd's WASM
//    file and piscina's worker load from there exactly as without the bundle.
// ./mo_br falls back to dist/src/cli/main.js when this is missing or older than it (a `tsc`
// alone after an edit never runs a stale bundle).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'cli');

rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: [path.join(ROOT, 'dist/src/cli/main.js'), path.join(ROOT, 'dist/src/workers/chunk-worker.js')],
  outdir: OUT,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  define: { __MOBR_CLI_BUNDLE__: 'true' },
});
