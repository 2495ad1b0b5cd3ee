/** Messages between the main thread and the worker pool (src/workers/chunk-worker.ts). */
import type { ChunkerParams } from '../chunk/fastcdc.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { MessagePort } from 'node:worker_threads';

/**
 * Read a file, chunk it, hash every chunk (BLAKE3) and the whole file (SHA-256), and compress the
 * chunks the repository lacks. Protocol on `port`, per batch of chunks:
 *   worker -> main  IdsMessage   (the batch's chunk ids, in file order)
 *   main -> worker  WantMessage  (which of them are new to the repository)
 *   worker -> main  DataMessage  (the new chunks, encoded; buffers transferred)
 *   main -> worker  'ack'        (once stored; the worker keeps at most 2 DataMessages unacked)
 */
export interface FileTask {
  kind: 'file';
  path: string;
  chunker: ChunkerParams;
  policy: CompressionPolicy;
  port: MessagePort;
}
export interface IdsMessage {
  t: 'ids';
  ids: Uint8Array[];
  sizes: number[];
}
export interface WantMessage {
  t: 'want';
  want: boolean[];
}
export interface DataMessage {
  t: 'data';
  ids: Uint8Array[];
  stored: Uint8Array[];
  /** BLAKE3 of each stored form (the id itself when stored as is), for the pack header's `h`. */
  storedHashes: Uint8Array[];
  codecs: number[];
  rawLengths: number[];
}
export interface FileResult {
  size: number;
  sha256: Uint8Array;
  error?: { code?: string; message: string };
}

/** Decode stored chunks and check each against its id. */
export interface DecodeTask {
  kind: 'decode';
  stored: Uint8Array[];
  codecs: number[];
  rawLengths: number[];
  ids: Uint8Array[];
}
export interface DecodeResult {
  plain: (Uint8Array | null)[]; // null: damaged
  problems: (string | null)[];
}

/** Which BLAKE3 implementation the worker hashes with (src/hash/blake3.ts). */
export interface BackendTask {
  kind: 'backend';
}

export type Task = FileTask | DecodeTask | BackendTask;
