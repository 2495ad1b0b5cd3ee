/**
 * fast-check's manifest entries (src/repo/file-table.ts FileEntry): files with SHA-256 and chunk
 * ids, folders and links, any of them with source facts (meta). Shared by the manifest format's
 * round trip (test/formats) and the in-memory table's (test/file-table).
 */
import fc from 'fast-check';
import type { FileEntry } from '../../src/repo/manifest.js';

/** msgpack's decoder refuses '__proto__' keys (prototype pollution); mobr never writes one. */
export const metaKey = fc.string().filter((k) => k !== '__proto__');
export const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const nat = fc.integer({ min: 0, max: 2 ** 40 });
const meta = fc.option(fc.dictionary(metaKey, fc.string()), { nil: undefined });
const mode = fc.integer({ min: 0, max: 0o7777 });

export const fileEntryArb: fc.Arbitrary<FileEntry> = fc.oneof(
  fc.record({
    path: fc.string({ minLength: 1, unit: 'grapheme' }),
    kind: fc.constant('file' as const),
    size: nat,
    mode,
    mtimeMs: nat,
    sha256: id32,
    chunks: fc.array(id32, { maxLength: 8 }).map((ids) => new Uint8Array(Buffer.concat(ids))),
    meta,
  }),
  fc.record({ path: fc.string({ minLength: 1 }), kind: fc.constant('dir' as const), size: fc.constant(0), mode, mtimeMs: nat, meta }),
  fc.record({ path: fc.string({ minLength: 1 }), kind: fc.constant('symlink' as const), size: fc.constant(0), mode, mtimeMs: nat, target: fc.string(), meta }),
);
