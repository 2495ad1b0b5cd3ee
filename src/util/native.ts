/**
 * Loading a prebuilt N-API binding (BLAKE3, zstd, CRC-32C): the platform package directly where
 * glibc Linux is usual, else the package's own loader; undefined when no binary loads here, so
 * the caller takes its WASM fallback. N-API is stable across Node majors, so one binary serves
 * Node 20, 22 and 24 (test/native.test.ts runs on each in .ci/run).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The binding `name`, or undefined. `glibcPackage` is the package's glibc platform package
 * prefix (e.g. '@napi-rs/blake-hash'): the packages' own loaders probe libc (process.report or
 * reading /usr/bin/ldd, ~0.1 s in every worker), so on glibc Linux x64/arm64 the platform
 * package `${glibcPackage}-linux-${arch}-gnu` is tried first; musl or anything else goes
 * through the package's loader.
 */
export function loadBinding<T>(name: string, glibcPackage?: string): T | undefined {
  if (name === glibcPackage && process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    try {
      return require(`${glibcPackage}-linux-${process.arch}-gnu`) as T;
    } catch {
      // musl, or no such package: the package's loader decides
    }
  }
  try {
    return require(name) as T;
  } catch {
    return undefined;
  }
}
