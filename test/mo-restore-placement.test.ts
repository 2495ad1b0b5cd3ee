/**
 * Restore writes what the stopped cluster reads (spec/matrixone.md, "Restore side"): the
 * backend and folders of SHARED and of the log service's hk_data come from the cluster's
 * configs, files of a DISK fileservice are LocalFS-framed byte for byte as MatrixOne writes
 * them. Layouts are written by hand (test/helpers/mo-folder.ts), not by mobr's writers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupTree } from '../src/backup/backup.js';
import { crc32c, frame, frameStream, unframeStream } from '../src/mo/framing.js';
import { parseServiceConfig, fileServiceOf, hkDataPlacement } from '../src/mo/placement.js';
import { restoreMatrixOne } from '../src/mo/restore.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { CKP, HK_DATA, OBJ, crc32cRef, frameRef, writeMoFolder } from './helpers/mo-folder.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-place-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** HEAD's etc/launch/tn.toml (matrixorigin/matrixone 7c27538f5a): DISK-V2 at shared2/local2. */
const HEAD_TN = `service-type = "TN"
data-dir = "./mo-data"

# Opt into the checksum-free DISK-V2 backend.
[[fileservice]]
name = "LOCAL"
backend = "DISK-V2"
data-dir = "./mo-data/local2"

[[fileservice]]
name = "SHARED"
backend = "DISK-V2"
data-dir = "./mo-data/shared2"

[log]
level = "info"

[tn]
uuid = "dd4dccb4-4d3c-41f8-b482-5251dc7a41bf"
port-base = 19000
`;
/** HEAD's etc/launch/log.toml: no [[fileservice]], so the log service's LOCAL is DISK at mo-data/local. */
const HEAD_LOG = 'service-type = "LOG"\ndata-dir = "./mo-data"\n\n[log]\nlevel = "info"\n';

/** A server backup in a repository, from a hand-written layout folder. */
async function serverBackup(configs?: { dn?: string; log?: string }) {
  const src = await tmp();
  const files = await writeMoFolder(src, { configs, sidecars: false });
  const repoDir = await tmp();
  const repo = await Repository.openOrInit(new FsStore(repoDir));
  cleanups.push(() => repo.close());
  const m = await backupTree(repo, src, { id: 'b1', source: { kind: 'matrixone' }, backupTs: '1715745404915410000-1' });
  return { repo, m, files, repoDir };
}

describe('LocalFS framing, byte vectors', () => {
  it('CRC-32C and frames match hand-computed vectors (RFC 3720 B.4, the spec page)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cRef(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(frame(Buffer.from('hello')).toString('hex')).toBe('4cbb719a68656c6c6f');
    // RFC 3720 B.4: 32 zero bytes -> aa 36 91 8a; 0..31 -> 4e 79 dd 46 (little-endian, as LocalFS stores it)
    expect(frame(Buffer.alloc(32)).subarray(0, 4).toString('hex')).toBe('aa36918a');
    expect(frame(Buffer.from(Array.from({ length: 32 }, (_, i) => i))).subarray(0, 4).toString('hex')).toBe('4e79dd46');
    expect(frame(Buffer.alloc(0)).length).toBe(0);
    // 2045 bytes: a full block then a 1-byte block (crc32c of one zero byte is 0x527d5351)
    const two = frame(Buffer.alloc(2045));
    expect(two.length).toBe(2053);
    expect(two.subarray(2048).toString('hex')).toBe('51537d5200');
  });

  it('frameStream / unframeStream equal whole-buffer framing for any cut of the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 7000 }), fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 6 }), async (data, cuts) => {
        const pieces = (buf: Uint8Array) => {
          const out: Uint8Array[] = [];
          let off = 0;
          for (const c of cuts) if (off < buf.length) out.push(buf.subarray(off, (off = Math.min(buf.length, off + c))));
          if (off < buf.length) out.push(buf.subarray(off));
          return out;
        };
        const collect = async (it: AsyncIterable<Uint8Array>) => {
          const parts: Uint8Array[] = [];
          for await (const p of it) parts.push(p);
          return Buffer.concat(parts);
        };
        const framed = await collect(frameStream((async function* () { yield* pieces(data); })()));
        expect(framed.equals(frameRef(data))).toBe(true);
        const back = await collect(unframeStream((async function* () { yield* pieces(framed); })(), 'x'));
        expect(back.equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('configs, parsed as TOML', () => {
  it('inline tables, arrays of inline tables, comments, multi-line strings, dotted keys, case-insensitive keys', () => {
    const text = `# a TN config a line-based reader got wrong
service-type = "TN"
data-dir = """./data"""
fileservice = [
  { name = "LOCAL", backend = "DISK-V2" },   # an array of inline tables
  { name = "S3", backend = "DISK", cache = { memory-capacity = "1B" } },
]
logservice.BootstrapConfig.restore.file-path = 'LOCAL:/restore/hk'
[tn.Txn.Storage]
backend = "TAE"
`;
    const c = parseServiceConfig(text, 'tn.toml', '/mo');
    expect(fileServiceOf(c, 'SHARED', '/mo')).toMatchObject({ name: 'SHARED', backend: 'DISK', dir: '/mo/data/shared', framing: 'crc' });
    expect(fileServiceOf(c, 'LOCAL', '/mo')).toMatchObject({ backend: 'DISK-V2', dir: '/mo/data/local', framing: 'raw' });
    expect(hkDataPlacement(c, '/mo')).toMatchObject({ file: '/mo/data/local/restore/hk', framing: 'raw' });
    const lower = parseServiceConfig('[logservice.bootstrapconfig.restore]\nFILE-PATH = "/abs/hk"\n', 'log.toml', '/mo');
    expect(hkDataPlacement(lower, '/mo')).toMatchObject({ file: '/abs/hk', framing: 'raw' });
    expect(hkDataPlacement(undefined, '/mo')).toMatchObject({ file: '/mo/mo-data/local/hk_data', framing: 'crc' });
    expect(() => parseServiceConfig('[[fileservice]\nname = "x"', 'bad.toml', '/mo')).toThrow(/bad.toml: not valid TOML/);
  });
});

describe('configs, any valid spelling', () => {
  it('the same fileservices read the same whether written as [[fileservice]] tables, inline tables or dotted keys', () => {
    const backend = fc.constantFrom('DISK', 'DISK-V2', 'disk', 'Disk-V2');
    const dirArb = fc.option(fc.stringMatching(/^(\.\/)?[a-z0-9_]{1,8}(\/[a-z0-9_]{1,8}){0,2}$/), { nil: undefined });
    fc.assert(
      fc.property(fc.record({ shared: backend, sharedDir: dirArb, local: backend, localDir: dirArb, dataDir: dirArb, hk: fc.option(fc.stringMatching(/^[a-z0-9_]{1,8}(\/[a-z0-9_]{1,8})?$/), { nil: undefined }) }), (c) => {
        const q = (v: string) => JSON.stringify(v);
        const fsFields = (name: string, b: string, d?: string) => [`name = ${q(name)}`, `backend = ${q(b)}`, ...(d ? [`data-dir = ${q(d)}`] : [])];
        const top = [...(c.dataDir ? [`data-dir = ${q(c.dataDir)}`] : []), ...(c.hk ? [`logservice.BootstrapConfig.restore.file-path = ${q(c.hk)}`] : [])];
        const tables = [...top, '# tables', '[[fileservice]]', ...fsFields('LOCAL', c.local, c.localDir), '', '[[fileservice]]', ...fsFields('shared', c.shared, c.sharedDir), '[tn]', 'uuid = "x"'].join('\n');
        const inline = [...top, `fileservice = [ { ${fsFields('SHARED', c.shared, c.sharedDir).join(', ')} }, # inline`, `  { ${fsFields('local', c.local, c.localDir).join(', ')} } ]`].join('\n');
        const a = parseServiceConfig(tables, 'a', '/mo');
        const b = parseServiceConfig(inline, 'b', '/mo');
        for (const name of ['SHARED', 'LOCAL']) expect(fileServiceOf(b, name, '/mo')).toEqual(fileServiceOf(a, name, '/mo'));
        expect({ ...hkDataPlacement(b, '/mo'), via: '' }).toEqual({ ...hkDataPlacement(a, '/mo'), via: '' });
        const shared = fileServiceOf(a, 'SHARED', '/mo');
        expect(shared.framing).toBe(c.shared.toUpperCase() === 'DISK' ? 'crc' : 'raw');
        expect(shared.dir).toBe(c.sharedDir ? join('/mo', c.sharedDir) : join('/mo', c.dataDir ?? 'mo-data', 'shared'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('restore placement', () => {
  it('no config anywhere: MatrixOne defaults, DISK: framed files in mo-data/shared and mo-data/local/hk_data', async () => {
    const { repo, m, files } = await serverBackup();
    const dest = await tmp();
    const r = await restoreMatrixOne(repo, m, dest);
    expect(r.layout.taePath).toBe('./mo-data/shared');
    expect(r.layout.cluster).toMatchObject({ tnSource: 'MatrixOne defaults', logSource: 'MatrixOne defaults' });
    const onDisk = await readFile(join(dest, 'mo-data', 'shared', OBJ));
    expect(onDisk.equals(frameRef(files.get(`tae/${OBJ}`)!))).toBe(true);
    expect(onDisk.length).toBe(5000 + 4 * 3);
    expect((await readFile(join(dest, 'mo-data', 'shared', ...CKP.split('/')))).equals(frameRef(files.get(`tae/${CKP}`)!))).toBe(true);
    expect((await readFile(join(dest, 'mo-data', 'local', 'hk_data'))).toString('hex')).toBe(`${crc32cRef(HK_DATA).toString(16).padStart(8, '0').match(/../g)!.reverse().join('')}082a`);
    await expect(stat(join(dest, 'mo-data', 'shared', 'tae_list'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("the backup's tn.toml (HEAD: DISK-V2 at shared2/local2) and log.toml: raw objects in shared2, hk_data framed in the log service's mo-data/local", async () => {
    const { repo, m, files } = await serverBackup({ dn: HEAD_TN, log: HEAD_LOG });
    const dest = await tmp();
    const r = await restoreMatrixOne(repo, m, dest);
    expect(r.layout.taePath).toBe('./mo-data/shared2');
    expect((await readFile(join(dest, 'mo-data', 'shared2', OBJ))).equals(files.get(`tae/${OBJ}`)!)).toBe(true);
    expect((await readFile(join(dest, 'mo-data', 'local', 'hk_data'))).equals(frameRef(HK_DATA))).toBe(true);
    await expect(stat(join(dest, 'mo-data', 'local2', 'hk_data'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(dest, 'etc', 'launch', 'tn.toml'), 'utf8')).toBe(HEAD_TN);
  });

  it('a log.toml that moves hk_data (own LOCAL fileservice, DISK-V2, restore.file-path): it goes there, raw', async () => {
    const log = `service-type = "LOG"\n[[fileservice]]\nname = "LOCAL"\nbackend = "DISK-V2"\ndata-dir = "./logdata/local"\n\n[logservice.BootstrapConfig]\nbootstrap-cluster = true\n[logservice.BootstrapConfig.restore]\nfile-path = "backup/hk_data"\n`;
    const { repo, m } = await serverBackup({ log });
    const dest = await tmp();
    const r = await restoreMatrixOne(repo, m, dest);
    expect(r.layout.cluster!.hk).toMatchObject({ file: join(dest, 'logdata', 'local', 'backup', 'hk_data'), framing: 'raw' });
    expect((await readFile(join(dest, 'logdata', 'local', 'backup', 'hk_data'))).equals(HK_DATA)).toBe(true);
    await expect(stat(join(dest, 'mo-data', 'local', 'hk_data'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the backup\'s copy wins over a config already at <restore_path>/etc/launch (named in a note); --dn_config_path wins over both', async () => {
    const { repo, m, files } = await serverBackup({ dn: HEAD_TN, log: HEAD_LOG });
    const dest = await tmp();
    await mkdir(join(dest, 'etc', 'launch'), { recursive: true });
    await writeFile(join(dest, 'etc', 'launch', 'tn.toml'), 'service-type = "TN"\n');
    const r = await restoreMatrixOne(repo, m, dest);
    expect(r.layout).toMatchObject({ taePath: './mo-data/shared2', cluster: { tnSource: expect.stringMatching(/^the backup's config\/tn\.toml_/) } });
    expect(r.layout.cluster!.notes).toEqual([expect.stringMatching(/^etc\/launch\/tn\.toml in the restore path puts SHARED at \.\/mo-data\/shared \(DISK\), the backup's /)]);
    expect((await readFile(join(dest, 'mo-data', 'shared2', OBJ))).equals(files.get(`tae/${OBJ}`)!)).toBe(true);
    // a backup that carries no TN config: the folder's config decides
    const bare = await serverBackup({ log: HEAD_LOG });
    const dest1 = await tmp();
    await mkdir(join(dest1, 'etc', 'launch'), { recursive: true });
    await writeFile(join(dest1, 'etc', 'launch', 'tn.toml'), HEAD_TN);
    const r1 = await restoreMatrixOne(bare.repo, bare.m, dest1);
    expect(r1.layout).toMatchObject({ taePath: './mo-data/shared2', cluster: { tnSource: 'etc/launch/tn.toml', notes: [] } });

    const dest2 = await tmp();
    await writeFile(join(dest2, 'dn.toml'), '[[fileservice]]\nname = "SHARED"\nbackend = "DISK-V2"\ndata-dir = "./elsewhere"\n');
    const r2 = await restoreMatrixOne(repo, m, dest2, { dnConfigPath: join(dest2, 'dn.toml') });
    expect(r2.layout.taePath).toBe('./elsewhere');
    expect((await readFile(join(dest2, 'elsewhere', OBJ))).equals(files.get(`tae/${OBJ}`)!)).toBe(true);
  });

  it('./mo_br restore: DISK defaults by default; an S3 SHARED in --dn_config_path is refused in one line, nothing written', async () => {
    ensureBuilt();
    const { repoDir, files } = await serverBackup();
    const dest = await tmp();
    const ok = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', repoDir, '--restore_dir', 'filesystem', '--restore_path', dest, '--meta_path', join(dest, 'mo_br.meta')], dest);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('TaePath\n    ./mo-data/shared\n');
    expect(ok.stdout).toContain(`    ${OBJ} => mo-data/shared/${OBJ}`);
    expect((await readFile(join(dest, 'mo-data', 'shared', OBJ))).equals(frameRef(files.get(`tae/${OBJ}`)!))).toBe(true);

    const dest2 = await tmp();
    await writeFile(join(dest2, 'tn.toml'), '[[fileservice]]\nname = "SHARED"\nbackend = "S3"\n[fileservice.s3]\nbucket = "b"\nkey-prefix = "p/data"\n');
    const bad = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', repoDir, '--restore_dir', 'filesystem', '--restore_path', dest2, '--dn_config_path', join(dest2, 'tn.toml'), '--meta_path', join(dest2, 'mo_br.meta')], dest2);
    expect(bad.code).toBe(9);
    expect(bad.stderr).toMatch(/^mo_br: the SHARED fileservice in .*tn\.toml uses backend S3, not a local folder; restore it with --restore_dir s3\n$/);
    await expect(stat(join(dest2, 'mo-data', 'shared'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);
});
