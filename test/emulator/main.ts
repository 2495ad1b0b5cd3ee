/**
 * EMULATOR of MatrixOne's backup statements for tests (MatrixOne cannot run here), standalone:
 *   npm run emulator -- --port 6001 --data <home> [--user dump --password 111]
 *     [--backend DISK|DISK-V2] [--layout shipped|flat] [--server-version 1.2.0]
 * State lives in <home>/mo-data, configs in <home>/etc/launch; see server.ts and tree.ts.
 */
import { parseArgs } from 'node:util';
import type { Layout } from './cluster.js';
import type { Backend } from './localfs.js';

const USAGE = `usage: npm run emulator -- --data <home> [--port 6001] [--user dump] [--password 111]
         [--backend DISK|DISK-V2] [--layout shipped|flat] [--server-version 1.2.0]
Starts the MatrixOne EMULATOR (for tests) on 127.0.0.1:<port>; state in <home>/mo-data.
  --data <home>             MatrixOne home (required): <home>/mo-data, <home>/etc/launch
  --port <n>                port to listen on (default 6001)
  --user, --password        account the emulator accepts (default dump / 111)
  --backend DISK|DISK-V2    fileservice backend written into the launch configs
  --layout shipped|flat     launch-config layout (default shipped)
  --server-version <v>      version the emulator reports (default: its newest)
  -h, --help                this help
`;

/** Bad input: one line on stderr, the usage hint, exit 2 (never a stack trace). */
function bad(message: string): never {
  process.stderr.write(`emulator: ${message} (npm run emulator -- --help for usage)\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string', default: '6001' },
        data: { type: 'string' },
        user: { type: 'string', default: 'dump' },
        password: { type: 'string', default: '111' },
        backend: { type: 'string' },
        layout: { type: 'string' },
        'server-version': { type: 'string' },
      },
    }).values;
  } catch (e) {
    return bad(e instanceof Error ? e.message.split('\n')[0] : String(e));
  }
}

const values = parse();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!values.data) bad('--data <home> is required');
if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) bad(`--port wants a port number (0-65535), not ${JSON.stringify(values.port)}`);
if (values.backend && !['DISK', 'DISK-V2'].includes(values.backend)) bad(`--backend wants DISK or DISK-V2, not ${JSON.stringify(values.backend)}`);
if (values.layout && !['shipped', 'flat'].includes(values.layout)) bad(`--layout wants shipped or flat, not ${JSON.stringify(values.layout)}`);
// Loaded only now: --help and a bad flag answer at once, without loading the emulator.
const { startEmulator } = await import('./server.js');
const emu = await startEmulator({
  home: values.data!, port: Number(values.port), user: values.user, password: values.password,
  ...(values.backend ? { backend: values.backend as Backend } : {}),
  ...(values.layout ? { layout: values.layout as Layout } : {}),
  ...(values['server-version'] ? { serverVersion: values['server-version'] } : {}),
}).catch((e: unknown) => {
  process.stderr.write(`emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  return process.exit(1);
});
console.log(`MatrixOne emulator listening on ${emu.host}:${emu.port}, data ${emu.home}/mo-data`);
const stop = () => void emu.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
