/**
 * EMULATOR of MatrixOne's backup statements for tests (MatrixOne cannot run here), standalone:
 *   npm run emulator -- --port 6001 --data <home> [--user dump --password 111]
 *     [--backend DISK|DISK-V2] [--layout shipped|flat] [--server-version 1.2.0]
 * State lives in <home>/mo-data, configs in <home>/etc/launch; see server.ts and tree.ts.
 */
import { parseArgs } from 'node:util';
import type { Layout } from './cluster.js';
import type { Backend } from './localfs.js';
import { startEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6001' },
    data: { type: 'string' },
    user: { type: 'string', default: 'dump' },
    password: { type: 'string', default: '111' },
    backend: { type: 'string' },
    layout: { type: 'string' },
    'server-version': { type: 'string' },
  },
});
if (!values.data) {
  console.error('usage: npm run emulator -- --port 6001 --data <home>');
  process.exit(2);
}
const emu = await startEmulator({
  home: values.data, port: Number(values.port), user: values.user, password: values.password,
  ...(values.backend ? { backend: values.backend as Backend } : {}),
  ...(values.layout ? { layout: values.layout as Layout } : {}),
  ...(values['server-version'] ? { serverVersion: values['server-version'] } : {}),
});
console.log(`MatrixOne emulator listening on ${emu.host}:${emu.port}, data ${emu.home}/mo-data`);
const stop = () => void emu.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
