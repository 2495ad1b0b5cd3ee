/**
 * The emulator honours a `file_index_<ts>.idx` at the BACKUP target root as MatrixOne does at
 * each tag (pkg/backup/backup.go backupTae, file_index.go LoadGlobalFileIndex, tae.go
 * execBackup): ignored before v3.0.6; from v3.0.6 the objects it names are listed needCopy=false,
 * no checksum, and not copied; read through the backup file service (a raw index on a DISK
 * target fails its CRC and is ignored); the newest by string order up to v4.1.x and by TS from
 * v4.2.0. Written from the source only: nothing here imports src/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmulator } from './emulator/index.js';
import { frame, unframe } from './emulator/localfs.js';
import { readFile } from 'node:fs/promises';
import { sql } from './helpers/mo-target.js';

let work: string;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mobr-emu-idx-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A cluster of `version`; the objects the next backup would copy; backs up into a folder holding `index` files; returns tae_list rows. */
async function backupWith(version: string, index: (objects: string[]) => Record<string, Buffer>): Promise<{ objects: string[]; rows: string[][]; copied: string[] }> {
  const base = path.join(work, `c${n++}`);
  const emu = await startEmulator({ home: path.join(base, 'mo'), serverVersion: version, objectSize: { min: 500, max: 900 } });
  try {
    await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1)', 'insert into db1.t values (2)');
    const objects = emu.tree.live.filter((e) => !e.appendable).map((e) => e.name);
    const dir = path.join(base, 'target');
    await mkdir(dir, { recursive: true });
    for (const [name, data] of Object.entries(index(objects))) await writeFile(path.join(dir, name), data);
    await sql(emu, `backup '0' filesystem '${dir}' parallelism '1'`);
    const list = unframe(await readFile(path.join(dir, 'tae', 'tae_list'))).toString().trim().split('\n').map((l) => l.split(','));
    return { objects, rows: list, copied: await readdir(path.join(dir, 'tae')) };
  } finally {
    await emu.close();
  }
}

const csv = (names: string[]) => Buffer.from(names.map((x) => `${x}\n`).join(''));
const rowOf = (rows: string[][], name: string) => rows.find((r) => r[0] === name)!;

describe('emulator: file_index_<ts>.idx at the target root', () => {
  it('v3.0.6: named objects are listed needCopy=false without checksum and not copied; v3.0.5 ignores the index', { timeout: 20_000 }, async () => {
    for (const [version, honoured] of [['3.0.6', true], ['3.0.5', false]] as const) {
      const { objects, rows, copied } = await backupWith(version, (o) => ({ 'file_index_1-0.idx': frame(csv(o.slice(0, 2))) }));
      expect(objects.length).toBeGreaterThanOrEqual(3);
      for (const name of objects.slice(0, 2)) {
        const r = rowOf(rows, name);
        expect([r[2], r[3]], `${version} ${name}`).toEqual(honoured ? ['', 'false'] : [expect.stringMatching(/^[0-9a-f]{64}$/), 'true']);
        expect(copied.includes(name)).toBe(!honoured);
      }
      expect(rowOf(rows, objects[2]!)[3]).toBe('true');
    }
  });

  it('a raw index on a DISK target fails its CRC: ignored', { timeout: 20_000 }, async () => {
    const { objects, rows } = await backupWith('4.1.4', (o) => ({ 'file_index_1-0.idx': csv(o) }));
    for (const name of objects) expect(rowOf(rows, name)[3]).toBe('true');
  });

  it('newest: by string order up to v4.1.x ("9-0" after "10-0"), by TS from v4.2.0; v4.2.0 skips a name that is not a TS', { timeout: 20_000 }, async () => {
    const files = (o: string[]) => ({ 'file_index_9-0.idx': frame(csv([o[0]!])), 'file_index_10-0.idx': frame(csv([o[1]!])), 'file_index_zz.idx': frame(csv([o[2]!])) });
    const old = await backupWith('4.1.4', files);
    expect(old.objects.map((o) => rowOf(old.rows, o)[3])).toEqual(['true', 'true', 'false', ...old.objects.slice(3).map(() => 'true')]); // "zz" > "9-0" > "10-0"
    const fixed = await backupWith('4.2.0', files);
    expect(fixed.objects.map((o) => rowOf(fixed.rows, o)[3])).toEqual(['true', 'false', 'true', ...fixed.objects.slice(3).map(() => 'true')]);
  });
});
