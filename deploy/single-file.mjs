// The single-file build: dist/mo_br.mjs, one JavaScript file (an ES module: the program has
// top-level awaits) that runs with nothing beside it (`node mo_br.mjs …`, Node 20+). `npm run build:single` (after `npm run build`).
//
// What one file can honestly hold, and how:
//  - The program and its JavaScript dependencies (AWS SDK, mysql2, commander, piscina, …),
//    bundled by esbuild from dist/ (the compiled source, so what runs is what tsc checked).
//  - The worker threads: piscina starts each worker from its own file worker.js beside it;
//    here it starts the bundle itself, which, in a worker thread, runs piscina's worker code and
//    exports the task handler (src/workers/chunk-worker.ts) that piscina then asks for.
//  - No native binding (.node files cannot be loaded from memory): BLAKE3, CRC-32C and zstd
//    compression take the WASM paths the program already has for platforms without binaries
//    (src/util/native.ts); zstd's WASM, which its package reads from a file, is inlined.
// A file does not carry its Node: the runtime is the machine's `node` (or the image's).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'mo_br.mjs');
const NATIVE = ['@napi-rs/blake-hash*', '@node-rs/crc32*', '@toondepauw/node-zstd*', '@napi-rs/nice*'];
const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

/** Replaces `from` in a dependency's file, failing the build when it is not there (the package changed). */
function patch(filter, from, to) {
  return (b) =>
    b.onLoad({ filter }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(from)) throw new Error(`single-file build: ${args.path} no longer has ${JSON.stringify(from)}`);
      return { contents: text.replace(from, to), loader: 'js' };
    });
}

const zstdWasm = readFileSync(path.join(ROOT, 'node_modules/@bokuweb/zstd-wasm/dist/common/zstd.wasm')).toString('base64');

const PISCINA_WORKER = path.join(ROOT, 'node_modules/piscina/dist/worker.js');
const entry = `
import { isMainThread } from 'node:worker_threads';
import run from './dist/src/workers/chunk-worker.js';
export default run;
if (!isMainThread && !globalThis.__mobrPiscinaWorker) {
  globalThis.__mobrPiscinaWorker = true;
  await import(${JSON.stringify(PISCINA_WORKER)});
}
if (isMainThread) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.removeAllListeners('warning');
  const { main } = await import('./dist/src/cli/main.js');
  await main(process.argv).catch((e) => {
    process.stderr.write('mo_br: ' + (e?.message ?? e) + '\\n');
    process.exit(70);
  });
}
`;

/** CommonJS dependencies inside an ES module need require, __filename and __dirname. */
const BANNER = [
  '#!/usr/bin/env node',
  `// mo_br ${version}, single-file build (deploy/single-file.mjs)`,
  "import { createRequire as __mobrCreateRequire } from 'node:module';",
  "import { fileURLToPath as __mobrFileURLToPath } from 'node:url';",
  "import { dirname as __mobrDirname } from 'node:path';",
  'const require = __mobrCreateRequire(import.meta.url);',
  'const __filename = __mobrFileURLToPath(import.meta.url);',
  'const __dirname = __mobrDirname(__filename);',
].join('\n');

await build({
  stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'single-entry.mjs', loader: 'js' },
  outfile: OUT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: NATIVE,
  logLevel: 'warning',
  legalComments: 'none',
  banner: { js: BANNER },
  define: { __MOBR_VERSION__: JSON.stringify(version) },
  plugins: [
    {
      name: 'single-file',
      setup(b) {
        // piscina's pool starts its workers from worker.js beside it: here, from this file
        patch(/piscina[\\/]dist[\\/]index\.js$/, "(0, node_path_1.resolve)(__dirname, 'worker.js')", '__filename')(b);
        // zstd-wasm reads zstd.wasm beside it: here, from the bytes inlined
        patch(/zstd-wasm[\\/]dist[\\/]common[\\/]index\.node\.js$/, "readFile(resolve(__dirname, './zstd.wasm'))", `Promise.resolve(Buffer.from('${zstdWasm}', 'base64'))`)(b);
      },
    },
  ],
});
process.stdout.write(`${path.relative(ROOT, OUT)}\n`);
