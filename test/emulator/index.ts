/**
 * EMULATOR of MatrixOne for tests, written from MatrixOne's source and independent of src/
 * (test/emulator-independence.test.ts checks that nothing here imports src/).
 */
export { startEmulator, SERVER_VERSION, SYSTEM_DATABASES, DEFAULT_BACKEND, DEFAULT_LAYOUT, DEFAULT_CHECKSUMLESS, DEFAULT_VERSION } from './server.js';
export type { Emulator, EmulatorOptions, EmulatorUser, ChurnDay } from './server.js';
export { runBackup } from './backup.js';
export { dirSink, s3Sink, type Sink, type S3Opts } from './sink.js';
export { MoTree } from './tree.js';
export type { Backend } from './localfs.js';
export type { Layout } from './cluster.js';
