/**
 * deploy/ (issue #24, #20.5): the container image definition, the nightly CronJob and the Indexed
 * Job. No container engine here, so: the files the Dockerfile COPYs exist, /mo_br is a link to the
 * launcher and runs as one (its meta file beside the link, as the operator's commands expect),
 * the manifests validate against the Kubernetes API schema (kubernetes-models, generated from
 * Kubernetes' OpenAPI), and their shell scripts run the commands we mean for each pod index.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, mobr } from './helpers/cli.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const deploy = (f: string) => path.join(ROOT, 'deploy', f);
const manifest = (f: string) => parseYaml(readFileSync(deploy(f), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let root: string;

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-deploy-');
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** Runs a manifest's `sh -c` script with /mo_br replaced by a stub that prints its arguments. */
function runScript(script: string, env: Record<string, string>): string[] {
  const stub = path.join(root, 'stub.sh');
  execFileSync('/bin/sh', ['-c', `printf '#!/bin/sh\\necho "$*"\\n' > ${stub} && chmod +x ${stub}`]);
  const out = execFileSync('/bin/sh', ['-c', script.replaceAll('/mo_br ', `${stub} `)], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return out.trim().split('\n');
}

describe('deploy/Dockerfile', () => {
  const text = () => readFileSync(deploy('Dockerfile'), 'utf8');

  it('copies only files that exist, from the project root; /mo_br is the launcher at the root', () => {
    const copies = [...text().matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(copies).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'mo_br', 'deploy/cmdrest']));
    // the operator's Job runs /cmdrest -- <command> (matrixone-operator pkg/controllers/br/common.go:52)
    expect(text()).toMatch(/^COPY deploy\/cmdrest \/cmdrest$/m);
    expect(text()).toMatch(/^RUN chmod 755 .*\/cmdrest/m);
    for (const c of copies) expect(existsSync(path.join(ROOT, c)), c).toBe(true);
    expect(text()).toMatch(/^RUN .*ln -s \/opt\/mobr\/mo_br \/mo_br/m);
    expect(text()).toMatch(/^WORKDIR \/$/m);
    expect(text()).toMatch(/^ENTRYPOINT \["\/mo_br"\]$/m);
    for (const from of text().matchAll(/^FROM (\S+)/gm)) expect(from[1]).toMatch(/^node:22-bookworm-slim$/);
  });

  it("the launcher run through a link keeps its meta file beside the link, and the operator's restore preamble (echo $RAW_META, sha256sum) is accepted", async () => {
    // the image's layout, in a folder: <img>/mo_br -> the launcher; the operator's commands run in <img>
    const img = path.join(root, 'img');
    await fsp.mkdir(img);
    await fsp.symlink(path.join(ROOT, 'mo_br'), path.join(img, 'mo_br'));
    await writeTree(path.join(root, 'data'), [{ path: 'f.bin', data: pseudoRandom(3, 5000), mode: 0o644 }]);
    const viaLink = (args: string[]) => spawnSync(process.execPath, [path.join(img, 'mo_br'), ...args], { cwd: img, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const b = { ...viaLink(['backup', '--data_dir', path.join(root, 'data'), '--backup_dir', 'filesystem', '--path', path.join(root, 'repo')]), code: 0 };
    b.code = b.status ?? -1;
    expect(b.code).toBe(0);
    const id = /[0-9a-f-]{36}/.exec(b.stdout)![0];
    // mobr spawned as `node <img>/mo_br`: argv[1] is the link, so the meta file is <img>/mo_br.meta
    const meta = await fsp.readFile(path.join(img, 'mo_br.meta'), 'utf8');
    expect(meta).toContain(id);
    // what the operator does before a restore: the record from its status, then a bare sha256
    await fsp.rm(path.join(img, 'mo_br.meta'));
    await fsp.rm(path.join(img, 'mo_br.meta.sha256'));
    execFileSync('/bin/sh', ['-c', `echo $RAW_META > mo_br.meta && sha256sum mo_br.meta | awk '{printf "%s",$1}' > mo_br.meta.sha256`], { cwd: img, env: { PATH: process.env.PATH, RAW_META: meta.trim() } });
    const list = viaLink(['list', id, '--not_check_data']);
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(id);
  });
});

describe('deploy/cmdrest: the operator\'s command runner (pkg/cmd/client.go, types.go)', () => {
  /** Starts cmdrest on a free port; resolves with the port and the process. */
  async function cmdrest(command: string, cwd: string): Promise<{ port: number; p: ChildProcess; exit: Promise<number | null> }> {
    const p = spawn(process.execPath, [deploy('cmdrest'), '--', command], { cwd, env: { ...process.env, CMDREST_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    let err = '';
    const port = await new Promise<number>((resolve, reject) => {
      p.stderr!.on('data', (d) => {
        err += d;
        const m = /cmdrest: listening on (\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      p.on('exit', () => reject(new Error(`cmdrest exited: ${err}`)));
    });
    return { port, p, exit };
  }
  /** GetCmdStatus: GET /status until completed (the operator polls it). */
  async function status(port: number): Promise<{ command: string; completed: boolean; stdout: string; stderr: string; exitCode: number }> {
    for (;;) {
      const s = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { completed: boolean; command: string; stdout: string; stderr: string; exitCode: number };
      if (s.completed) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("runs the operator's backup command, answers /status as the operator parses it, keeps answering, and exits on /shutdown", async () => {
    const img = path.join(root, 'img-cmdrest');
    await fsp.mkdir(img);
    await fsp.symlink(path.join(ROOT, 'mo_br'), path.join(img, 'mo_br'));
    await writeTree(path.join(root, 'data-cmdrest'), [{ path: 'f.bin', data: pseudoRandom(4, 3000), mode: 0o644 }]);
    // BackupCommand.String()'s shape (command.go), a cold backup in place of the server and S3
    const command = `/mo_br backup --data_dir=${path.join(root, 'data-cmdrest')} --backup_dir=filesystem --path=${path.join(root, 'repo-cmdrest')} && echo META_DELIMITER && cat /mo_br.meta`;
    const run = await cmdrest(command.replaceAll('/mo_br', path.join(img, 'mo_br')), img);
    const s = await status(run.port);
    expect([s.exitCode, s.stderr]).toEqual([0, '']);
    // backup_controller.go: Split(stdout, MetaDelimiter) in two, Trim, SplitN(raw, ",", 2)[0]
    const parts = s.stdout.split('META_DELIMITER');
    expect(parts).toHaveLength(2);
    const id = parts[1]!.trim().split(',')[0];
    expect(parts[0]).toContain(`Backup ID\n    ${id}\n`);
    expect((await status(run.port)).stdout).toBe(s.stdout); // still answering after the command ended
    expect((await fetch(`http://127.0.0.1:${run.port}/shutdown`, { method: 'POST' })).status).toBe(200);
    expect(await run.exit).toBe(0);
  });

  it('a failing command: completed, its exit code and stderr (the operator\'s failBackup message)', async () => {
    const run = await cmdrest("echo 'mo_br: no such bucket' >&2; exit 6", root);
    expect(await status(run.port)).toMatchObject({ completed: true, exitCode: 6, stdout: '', stderr: 'mo_br: no such bucket\n' });
    run.p.kill('SIGTERM'); // the operator deletes the Job
    expect(await run.exit).toBe(6);
  });
});

describe('deploy/*.yaml against the Kubernetes API schema', () => {
  it('the CronJob validates; a wrong type in it does not', () => {
    expect(() => new CronJob(manifest('cronjob.yaml') as never).validate()).not.toThrow();
    const bad = manifest('cronjob.yaml');
    bad.spec.jobTemplate.spec.backoffLimit = 'never';
    expect(() => new CronJob(bad as never).validate()).toThrow(/backoffLimit must be integer/);
  });

  it('the CronJob runs backup, a check of one thirtieth of the data by day of month, then prune with metrics and no secret in argv', () => {
    const job = manifest('cronjob.yaml');
    const c = job.spec.jobTemplate.spec.template.spec.containers[0];
    const lines = runScript(c.args[0], { MO_HOST: 'h', MO_USER: 'u', S3_ENDPOINT: 'http://s3', S3_BUCKET: 'b' });
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['backup', 'check', 'prune']);
    expect(lines[1]).toMatch(/--read_data_subset ([1-9]|[12]\d|30)\/30 /);
    for (const l of lines) expect(l).toMatch(/--metrics_file \/metrics\/\w+\.prom/);
    expect(lines.join(' ')).not.toMatch(/--password|secret_access_key|access_key_id/);
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['MO_BR_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']));
  });

  it('the Indexed Job validates; index 0 coordinates --shares k, index i joins as --share i', () => {
    const job = manifest('indexed-job.yaml');
    expect(() => new Job(job as never).validate()).not.toThrow();
    expect(job.spec.completionMode).toBe('Indexed');
    const k = job.spec.completions;
    expect(job.spec.parallelism).toBe(k);
    const script = job.spec.template.spec.containers[0].args[0];
    expect(runScript(script, { JOB_COMPLETION_INDEX: '0', MO_HOST: 'h', MO_USER: 'u' })[0]).toMatch(new RegExp(`^backup --shares ${k} --host h `));
    for (let i = 1; i < k; i++) expect(runScript(script, { JOB_COMPLETION_INDEX: String(i) })[0]).toMatch(new RegExp(`^backup --join pending --share ${i} --backup_dir s3 `));
    const bad = manifest('indexed-job.yaml');
    bad.spec.completions = 'three';
    expect(() => new Job(bad as never).validate()).toThrow(/completions must be integer/);
  });

  it("--join pending on mo_ctl's dated --path looks in the repository the coordinator stored into (<root>/.mobr)", async () => {
    const dated = path.join(root, 'dated', '202612', '20261207_010000');
    const r = await mobr(['--meta_path', path.join(root, 'j.meta'), 'backup', '--join', 'pending', '--share', '1', '--backup_dir', 'filesystem', '--path', dated], root, { env: { MO_BR_JOIN_WAIT_MS: '1' } });
    expect([r.code, r.stderr]).toEqual([3, `mo_br: no mobr repository at filesystem ${path.join(root, 'dated', '.mobr')}\n`]);
  });

  it('--join pending with no backup in shares waiting says so (exit 3) after MO_BR_JOIN_WAIT_MS', async () => {
    const r = await mobr(['--meta_path', path.join(root, 'j.meta'), 'backup', '--join', 'pending', '--share', '1', '--backup_dir', 'filesystem', '--path', path.join(root, 'repo')], root, { env: { MO_BR_JOIN_WAIT_MS: '1' } });
    expect([r.code, r.stderr]).toEqual([3, `mo_br: --join pending: no backup in shares began in BackupDir: filesystem  Path: ${path.join(root, 'repo')} (MO_BR_JOIN_WAIT_MS passed)\n`]);
  });
});
