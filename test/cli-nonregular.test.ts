/**
 * Nothing that ignores Ctrl-C (issue #25): a `--config` or `--log_file` naming a fifo used to block
 * forever in a synchronous open (SIGINT/SIGTERM never ran), and `--config /dev/zero` grew until
 * killed. Each is one line and exit 2 at once now; a fifo some process reads still takes the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr } from './helpers/cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-nonregular-');
  execFileSync('mkfifo', [path.join(work, 'fifo')]);
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

describe('--config and --log_file that are not regular files', () => {
  for (const [args, line] of [
    [['--config', 'FIFO'], /^mo_br: config file \S+fifo is not a regular file \(a fifo, device or socket\); give a file\n$/],
    [['--config', '/dev/zero'], /^mo_br: config file \/dev\/zero is not a regular file \(a fifo, device or socket\); give a file\n$/],
    [['--log_file', 'FIFO'], /^mo_br: --log_file \S+fifo is a fifo no process reads; give a file\n$/],
  ] as const) {
    it(`${args.join(' ')}: exit 2, one line, no wait`, async () => {
      const r = await mobr([...args.map((a) => (a === 'FIFO' ? path.join(work, 'fifo') : a)), 'list', '--meta_path', path.join(work, 'm.meta')], work, { killAfterMs: 20_000 });
      expect(r.signal, 'blocked until killed').toBeNull();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(line);
    });
  }

  it('a fifo a process reads takes the log lines', async () => {
    const fifo = path.join(work, 'fifo');
    const reader = await fsp.open(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK); // this process reads it
    try {
      const r = await mobr(['--log_file', fifo, '--log_level', 'info', 'list', '--meta_path', path.join(work, 'm.meta')], work, { killAfterMs: 20_000 });
      expect(r.code, r.stderr).toBe(0);
      const buf = Buffer.alloc(65_536);
      const { bytesRead } = await reader.read(buf, 0, buf.length, null); // the writer is gone: what it wrote, then EOF
      expect(buf.subarray(0, bytesRead).toString()).toMatch(/list/);
    } finally {
      await reader.close();
    }
  });
});
