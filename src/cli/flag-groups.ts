/**
 * Flag groups several commands share (the S3 family, the --backup_* side, a pair of S3 keys) and
 * the runner every command's action goes through (main.ts).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Runs a command's body with its context; failures end in main.ts's one error line. */
export type Runner = (fn: (ctx: CliContext) => Promise<void>, opts?: unknown) => Promise<void>;

/** The flags a command's action receives besides its own. */
export type GlobalOpts = { meta_path?: string; json?: boolean };

/** A repeatable flag's values, in order. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The S3 flag family: `--<prefix>endpoint` … `--<prefix>is_minio`; `what` ends each help text. */
export const s3Flags = (cmd: Command, prefix: string, what: string): Command =>
  cmd
    .option(`--${prefix}endpoint <url>`, `URL of the S3 service ${what}`)
    .option(`--${prefix}access_key_id <id>`, `S3 access key ID ${what}`)
    .option(`--${prefix}secret_access_key <key>`, `S3 secret access key ${what}`)
    .option(`--${prefix}bucket <bucket>`, `S3 bucket ${what}`)
    .option(`--${prefix}filepath <path>`, `folder inside the bucket ${what}`)
    .option(`--${prefix}region <region>`, `S3 region ${what}`)
    .option(`--${prefix}compression <format>`, `S3 compression format ${what} (accepted; mobr compresses chunks itself)`)
    .option(`--${prefix}role_arn <arn>`, `role to assume ${what}`)
    .option(`--${prefix}is_minio`, `the S3 service ${what} is MinIO`);

/** Where the backups are, for commands that also find them through the meta file. */
export const backupSide = (cmd: Command): Command => {
  cmd.option('--backup_dir <type>', 'where the backups are: s3 or filesystem (without the meta file, or without an ID)').option('--backup_path <dir>', 'backup folder (filesystem)');
  return s3Flags(cmd, 'backup_', 'where the backup is');
};

/** mo_br's `--access_key_id` / `--secret_access_key` (keys of the repository read); `of` ends each help text. */
export const sourceKeys = (cmd: Command, of = ''): Command =>
  cmd.option('--access_key_id <id>', `S3 access key ID${of}`).option('--secret_access_key <key>', `S3 secret access key${of}`);
