/** Messages between the main thread and the worker pool (src/workers/chunk-worker.ts). */
import type { ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { MessagePort } from 'node:worker_threads';
import type { MasterKey } from '../crypto/master.js';

/**
 * Read files one after the other, chunk them, hash every chunk (BLAKE3) and each whole file
 * (SHA-256), and compress the chunks the repository lacks, writing their stored bytes straight
 * into the caller's pack buffer (shared memory): chunk bytes never travel between threads, and
 * the main thread copies nothing. Chunks of many small files travel together, so a task of a
 * thousand small files costs a handful of messages. Protocol on `port`, per batch of chunks (in
 * file order, across file boundaries):
 *   worker -> main  IdsMessage   (the batch's chunk ids, in order)
 *   main -> worker  WantMessage  (which of them are new to the repository)
 *   worker -> main  DataMessage  (where in the pack buffer the new chunks now lie)
 *   main -> worker  AckMessage   (recorded; after a DataMessage with `full`, the pack was cut and
 *                                 the ack brings the empty buffer to go on with)
 * The worker keeps at most 2 DataMessages unacked and writes nothing after a `full` until its
 * ack. The result gives each file's size, SHA-256 and number of chunks, so the main thread
 * splits the ids it saw into files.
 */
export interface FilesTask {
  kind: 'files';
  paths: string[];
  /** Expected sizes (from the walk), to size read buffers; files may have changed since. */
  sizes: number[];
  /**
   * Each file's device and inode as the walk saw them ([dev, ino] per file): a file opened under
   * its path that is another file (a folder on its path, or the file, replaced by a link since
   * the walk) is not read, and the task fails naming it. Absent: not checked.
   */
  identities?: number[];
  chunker: ChunkerParams;
  policy: CompressionPolicy;
  /**
   * An encrypted repository's master key (spec/encryption.md §9): chunks are cut with its secret
   * gear table, named by keyed BLAKE3 and sealed into the pack buffer. Never logged.
   */
  keys?: MasterKey;
  port: MessagePort;
  /** Where new chunks go; absent when the caller wants none. */
  pack?: PackTarget;
}
/**
 * A pack being filled: stored chunks go back to back from `used`. A chunk that would take the
 * pack past `cutAt` goes to the next pack (unless the pack is empty); a pack that reaches
 * `cutAt` exactly is full. `buf` holds max(cutAt, largest chunk) plus room for the header.
 */
export interface PackTarget {
  buf: SharedArrayBuffer;
  used: number;
  cutAt: number;
}
export interface IdsMessage {
  t: 'ids';
  ids: Uint8Array; // n × 32
  sizes: number[];
}
export interface WantMessage {
  t: 'want';
  want: boolean[];
  /** The main thread failed or was stopped: read no further. */
  stop?: boolean;
}
export interface DataMessage {
  t: 'data';
  ids: Uint8Array; // k × 32
  /** Where each stored chunk lies in the pack buffer (back to back) and its stored length. */
  offsets: number[];
  lengths: number[];
  /** BLAKE3 of each stored form (the id itself when stored as is), for the pack header's `h`; k × 32. */
  storedHashes: Uint8Array;
  codecs: number[];
  rawLengths: number[];
  /** The pack is full (maybe with no new chunk in this message): the worker waits for an AckMessage with a new buffer. */
  full: boolean;
}
export interface AckMessage {
  t: 'ack';
  /** After a `full` DataMessage: the buffer to fill next (from byte 0). */
  pack?: SharedArrayBuffer;
  /** The main thread failed: stop. */
  stop?: boolean;
}
export interface FileResult {
  size: number;
  sha256: Uint8Array;
  chunks: number;
}
export interface FilesResult {
  /** One per file read whole, in order; on an error, the files before it. */
  files: FileResult[];
  /** The first file that could not be read (the task stops there). */
  error?: { index: number; code?: string; message: string };
}

/** Stored chunks in one buffer: chunk j is data[offsets[j], +lengths[j]), its id ids[32j, +32). */
export interface BlobSlices {
  /** An encrypted repository's master key: each blob is opened first, ids are keyed. */
  keys?: MasterKey;
  data: Uint8Array;
  offsets: number[];
  lengths: number[];
  codecs: number[];
  rawLengths: number[];
  ids: Uint8Array; // n × 32
}
/**
 * Decode stored chunks lying in one buffer and check each against its id. The buffer is the
 * task's own (transferred, never cloned).
 */
export interface DecodeTask extends BlobSlices {
  kind: 'decode';
}
export interface DecodeResult {
  plain: (Uint8Array | null)[]; // null: damaged
  problems: (string | null)[];
}

/** Per file: null when sound (and written), else what is wrong. */
export type FileProblem =
  | { kind: 'chunk'; chunk: number; message: string } // a chunk does not decode or match its id
  | { kind: 'content'; message: string } // size or SHA-256 of the whole file
  | { kind: 'io'; code?: string; message: string } // writing failed
  | null;

/**
 * Restore by pack (src/backup/restore-packs.ts): the chunks of one ranged read (`data`, the task's
 * own), decoded and checked against their ids once each, written wherever the files use them.
 * A file with `whole` has every chunk here: it is checked against its size and SHA-256 before
 * anything is written, written to its temporary name, given its mode and mtime and renamed. The
 * other files' chunks are written at their offsets into the temporary file the main thread
 * created; FinishFilesTask checks and renames those once every chunk is written. A chunk that
 * fails its check is never written.
 */
export interface PackWritesTask extends BlobSlices {
  kind: 'packWrites';
  files: PackFile[];
  /** Whole files' SHA-256s, 32 bytes each, in one buffer (`whole.sha` indexes it). */
  sha256s: Uint8Array;
}
export interface PackFile {
  tmp: string;
  /** Its chunks in this task, in file order: chunk index and byte offset in the file. */
  blobs: number[];
  ats: number[];
  whole?: FinishFile;
}
/** A whole-file encoding a worker applies to a one-chunk file it restores (pack-writes.ts). */
export type WholeEncoding = 'localfs';
export interface FinishFile {
  target: string;
  size: number;
  /** Written encoded so (size and SHA-256 are of the plain bytes): one-chunk files only. */
  encoding?: WholeEncoding;
  /** Index of its SHA-256 in the task's sha256s (none: checked by size only). */
  sha?: number;
  mode: number;
  mtimeMs: number;
}
/** Files whose chunks are all written to `tmp`: read back, check, set mode and mtime, rename. */
export interface FinishFilesTask {
  kind: 'finishFiles';
  files: (FinishFile & { tmp: string })[];
  sha256s: Uint8Array;
}

/**
 * Check by pack (src/backup/verify-packs.ts): the chunks of one pack (`data`; the whole pack when
 * `pack` is set, whose header and hash are then checked too) decoded and checked against their
 * ids once each. A file with `whole` is checked here against its size and SHA-256; for the
 * others the plain chunks go back (transferred) for the main thread to hash in file order.
 */
export interface PackCheckTask extends BlobSlices {
  kind: 'packCheck';
  /** Check `data` as this whole pack (header against the name, blob bytes against `h`). */
  pack?: string;
  files: { blobs: number[]; whole?: { size: number; sha?: number } }[];
  sha256s: Uint8Array;
}
export interface PackCheckResult {
  /** With `pack`: undefined if sound, else why (the header); `dataOk` false if `h` differs. */
  packProblem?: string;
  dataOk: boolean;
  /** Per file: a problem (string; `chunk` names the bad chunk), or its plain chunks (not whole), or null. */
  files: ({ problem: string; chunk?: number } | { plain: Uint8Array[] } | null)[];
}

/** Which BLAKE3 implementation the worker hashes with (src/hash/blake3.ts). */
export interface BackendTask {
  kind: 'backend';
}

export type Task = FilesTask | DecodeTask | PackWritesTask | FinishFilesTask | PackCheckTask | BackendTask;
