/** EMULATOR of MatrixOne's backup statements for tests; MatrixOne cannot run here. */
export { startEmulator, SERVER_VERSION, SYSTEM_DATABASES } from './server.js';
export type { Emulator, EmulatorOptions, EmulatorUser, ChurnDay } from './server.js';
export { runBackup, dirSink, s3Sink } from './backup.js';
export { MoTree } from './tree.js';
