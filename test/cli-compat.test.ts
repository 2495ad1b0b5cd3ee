/**
 * The exact command lines of mo_ctl (matrixorigin/mo_ctl_standalone bin/auto_backup.sh,
 * bin/restore.sh) and of MatrixOne's operator (matrixone-operator pkg/controllers/br/command.go,
 * backup_controller.go) run through bash against ./mo_br, the MatrixOne emulator and a real
 * S3-protocol server. `/mo_br` of the operator's container is a `mo_br` link in a temp folder
 * (the meta file sits beside it, as in the container); everything else is verbatim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { ensureBuilt, MO_BR } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

let work: string;
let emu: Emulator;
let s3: S3Server;

function bash(script: string, cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A folder holding `mo_br` (a link to ./mo_br), like mo_ctl's BACKUP_MOBR_PATH or the operator's `/`. */
function toolDir(name: string): string {
  const d = path.join(work, name);
  mkdirSync(d, { recursive: true });
  symlinkSync(MO_BR, path.join(d, 'mo_br'));
  return d;
}

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-compat-'));
  emu = await startEmulator({ home: path.join(work, 'mo') });
  s3 = await startS3Server({ bucket: 'mo-backup' });
  const c = await mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
  await c.query('create database db1');
  await c.query('create table db1.t (a int)');
  await c.query('insert into db1.t values (1), (2)');
  await c.end();
});
afterAll(async () => {
  await emu?.close();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('mo_ctl', () => {
  it('auto_backup.sh (filesystem, then incremental on the last ID of the meta file), list, restore.sh', async () => {
    const tools = toolDir('mo-backup');
    const env = {
      BACKUP_MOBR_PATH: path.join(tools, 'mo_br'),
      BACKUP_MOBR_DIRNAME: tools,
      BACKUP_MOBR_META_PATH: path.join(work, 'logs/mo_br.meta'),
      MO_HOST: emu.host,
      MO_PORT: String(emu.port),
      MO_USER: 'dump',
      MO_PW: '111',
      BACKUP_PHYSICAL_PARALLEL_NUM: '2',
      backup_outpath: path.join(work, 'backups/202611300400'),
    };
    mkdirSync(path.join(work, 'logs'));
    const prelude = 'br_meta_option="--meta_path ${BACKUP_MOBR_META_PATH}"; delta_option=""';
    const backup = 'cd ${BACKUP_MOBR_DIRNAME} && ${BACKUP_MOBR_PATH} backup ${br_meta_option} --parallelism ${BACKUP_PHYSICAL_PARALLEL_NUM} --host ${MO_HOST} --port ${MO_PORT} --user ${MO_USER} --password ${MO_PW} --backup_dir filesystem --path ${backup_outpath} ${delta_option}';
    const lastId = 'grep "${option}" ${BACKUP_MOBR_META_PATH} | tail -n 1 | awk -F "," \'{print $1}\' | sed "s/[[:space:]][[:space:]]*//g"';
    const full = await bash(`${prelude}; ${backup}`, work, env);
    expect(full.stderr).toBe('');
    expect(full.code).toBe(0);
    const fullId = /Backup ID\n {4}(\S+)/.exec(full.stdout)![1];
    expect((await bash(`option=""; ${lastId}`, work, env)).stdout).toBe(`${fullId}\n`);

    const inc = await bash(`${prelude}; bkid=$(option=""; ${lastId}); delta_option="--backup_type incremental --base_id \${bkid}"; ${backup}`, work, env);
    expect(inc.stderr).toBe('');
    expect(inc.code).toBe(0);
    const incId = /Backup ID\n {4}(\S+)/.exec(inc.stdout)![1];
    expect((await bash(`option=""; ${lastId}`, work, env)).stdout).toBe(`${incId}\n`);

    const list = await bash(`${prelude}; cd \${BACKUP_MOBR_DIRNAME} && ./mo_br \${br_meta_option} list`, work, env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${incId} .*\\| incremental \\|`));
    const size = await bash(`${prelude}; RESTORE_BKID=${fullId}; cd \${BACKUP_MOBR_DIRNAME} && \${BACKUP_MOBR_PATH} list \${br_meta_option} | grep "\${RESTORE_BKID}" | awk -F "|" '{print $3}' | sed 's# ##g'`, work, env);
    expect(size.stdout).toMatch(/^\d+(\.\d)?[kMG]?B\n$/);

    const restorePath = path.join(work, 'restored');
    const restore = await bash(`${prelude}; RESTORE_BKID=${incId}; RESTORE_PHYSICAL_TYPE=filesystem; RESTORE_PATH=${restorePath}; cmd="\${BACKUP_MOBR_PATH} restore \${RESTORE_BKID} \${br_meta_option} --restore_dir \${RESTORE_PHYSICAL_TYPE}"; cmd="\${cmd} --restore_path \${RESTORE_PATH}"; cd \${BACKUP_MOBR_DIRNAME} && \${cmd}`, work, env);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(readdirSync(path.join(restorePath, 'mo-data')).length).toBeGreaterThan(0);
  }, 120_000);

  it('auto_backup.sh to s3 with the empty quoted options "" ""', async () => {
    const tools = toolDir('mo-backup-s3');
    const env = {
      BACKUP_MOBR_PATH: path.join(tools, 'mo_br'),
      BACKUP_MOBR_DIRNAME: tools,
      MO_HOST: emu.host,
      MO_PORT: String(emu.port),
      MO_USER: 'dump',
      MO_PW: '111',
      BACKUP_PHYSICAL_PARALLEL_NUM: '2',
      BACKUP_S3_ENDPOINT: s3.endpoint,
      BACKUP_S3_ID: s3.accessKeyId,
      BACKUP_S3_KEY: s3.secretAccessKey,
      BACKUP_S3_BUCKET: s3.bucket,
      backup_outpath: 'auto/202611300400',
      BACKUP_S3_REGION: '',
      BACKUP_S3_COMPRESSION: '',
    };
    const script =
      'br_meta_option=""; delta_option=""; role_arn_option=""; minio_option=""; ' +
      'cd ${BACKUP_MOBR_DIRNAME} && ${BACKUP_MOBR_PATH} backup ${br_meta_option} --parallelism "${BACKUP_PHYSICAL_PARALLEL_NUM}" --host "${MO_HOST}" --port "${MO_PORT}" --user "${MO_USER}" --password "${MO_PW}" --backup_dir "s3" --endpoint "${BACKUP_S3_ENDPOINT}" --access_key_id "${BACKUP_S3_ID}" --secret_access_key "${BACKUP_S3_KEY}" --bucket "${BACKUP_S3_BUCKET}" --filepath "${backup_outpath}" --region "${BACKUP_S3_REGION}" --compression "${BACKUP_S3_COMPRESSION}" "${role_arn_option}" "${minio_option}" ${delta_option}';
    const r = await bash(script, work, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(r.stdout)![1];
    // the meta file beside mo_br (no --meta_path): what mo_ctl reads when BACKUP_MOBR_META_PATH is empty
    const last = await bash('tail -n 1 mo_br.meta | awk -F "," \'{print $1}\'', tools);
    expect(last.stdout).toBe(`${id}\n`);
  }, 120_000);
});

describe('the operator', () => {
  it('backup job: the ID from the meta after META_DELIMITER; restore job: echo $RAW_META, sha256sum, restore --restore_dir s3', async () => {
    const job = toolDir('backup-job');
    const env = { MO_USER: 'dump', MO_PASSWORD: '111', AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    // BackupCommand.String() with ReadEnvSecret and a MinIO target, "/" being the job folder.
    const backupCmd = `${job}/mo_br backup --host=${emu.host} --port=${emu.port} --user=$MO_USER --password=$MO_PASSWORD --backup_dir=s3 --endpoint=${s3.endpoint} --bucket=${s3.bucket} --filepath=cluster1/backups --is_minio --access_key_id=$AWS_ACCESS_KEY_ID --secret_access_key=$AWS_SECRET_ACCESS_KEY && echo META_DELIMITER && cat ${job}/mo_br.meta`;
    const b = await bash(backupCmd, job, env);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    // waitJob: parts := strings.Split(stdout, MetaDelimiter); raw := Trim(Trim(parts[1], " "), "\n"); id := SplitN(raw, ",", 2)[0]
    const parts = b.stdout.split('META_DELIMITER');
    expect(parts).toHaveLength(2);
    const raw = parts[1].replace(/^ +| +$/g, '').replace(/^\n+|\n+$/g, '');
    const id = raw.split(',')[0];
    expect(id).toBe(/Backup ID\n {4}(\S+)/.exec(b.stdout)![1]);
    expect(raw).not.toContain(s3.secretAccessKey);
    expect(raw).not.toContain(s3.accessKeyId);

    // RestoreCommand.String() in a fresh job folder (no catalog there but what the operator writes).
    const rjob = toolDir('restore-job');
    const restoreCmd =
      `echo $RAW_META > ${rjob}/mo_br.meta && sha256sum mo_br.meta | awk '{printf "%s",$1}' > mo_br.meta.sha256 && ${rjob}/mo_br restore ${id} --restore_dir s3` +
      ' --backup_access_key_id=$AWS_ACCESS_KEY_ID --backup_secret_access_key=$AWS_SECRET_ACCESS_KEY' +
      ` --restore_endpoint=${s3.endpoint} --restore_bucket=${s3.bucket} --restore_filepath=restored-cluster` +
      ' --restore_access_key_id=$RESTORE_ACCESS_KEY_ID --restore_secret_access_key=$RESTORE_SECRET_ACCESS_KEY --restore_is_minio';
    const r = await bash(restoreCmd, rjob, { ...env, RAW_META: raw, RESTORE_ACCESS_KEY_ID: s3.accessKeyId, RESTORE_SECRET_ACCESS_KEY: s3.secretAccessKey });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TaePath\n    restored-cluster/data\n');
    expect(r.stdout).toContain(`From:\n    BackupDir: s3\n    Endpoint: ${s3.endpoint}\n    Bucket: ${s3.bucket}\n    FilePath: cluster1/backups\n`);
  }, 120_000);
});
