/**
 * `check` and `restore` on a folder in MatrixOne's own layout (written by its BACKUP statement,
 * by mo_br, or by `mo_br export`): `--backup_dir filesystem|s3 --backup_path|--backup_filepath`
 * naming a folder with a `mo_meta` (src/mo/native.ts) instead of a mobr repository.
 */
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { checkNativeFolder, nativeManifest, openNativeFolder, readNative, type NativeFolder } from '../mo/native.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import { checkLine } from './format.js';
import type { Location, S3Credentials } from '../store/location.js';
import { openStore } from '../store/open.js';
import { printJson, type CliContext } from './context.js';

interface OpenedNative {
  folder: NativeFolder;
  close(): Promise<void>;
}

/** The native backup folder at a location, or undefined when it holds none (no mo_meta). */
export async function openNativeAt(location: Location, creds: S3Credentials, parallelism?: number): Promise<OpenedNative | undefined> {
  const store = openStore(location, { credentials: creds, parallelism });
  const close = async () => {
    await store.close?.();
  };
  try {
    const folder = await openNativeFolder(store, location.backupDir);
    if (!folder) {
      await close();
      return undefined;
    }
    return { folder, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** `check --backup_dir … --backup_path <native folder>`: mo_br's check lines, CHECK_FAILED on damage. */
export async function runNativeCheck(native: OpenedNative, ctx: CliContext, id?: string): Promise<void> {
  let result;
  try {
    result = await checkNativeFolder(native.folder, (shown, problem) => {
      if (!ctx.json) ctx.stdout.write(checkLine(shown, problem));
    });
    assertNativeId(native, result.id, id);
  } finally {
    await native.close();
  }
  const where = native.folder.store.location;
  if (ctx.json) {
    printJson(ctx, 'check', { native: { location: where, framing: native.folder.framing, id: result.id ?? null }, files: result.files.length + result.damaged.length, damaged: result.damaged, notCopied: result.notCopied, listedSize: result.listedSize });
  }
  if (result.damaged.length > 0) {
    const shown = result.damaged.slice(0, 5).map((d) => `${d.path} (${d.problem})`).join(', ');
    throw new MobrError('CHECK_FAILED', `check failed: ${result.damaged.length} of ${result.files.length + result.damaged.length} files of the backup folder ${where} missing or damaged: ${shown}`);
  }
}

/** A native folder as a restore source: its manifest and a reader of its files' plain bytes. */
export async function nativeSource(native: OpenedNative, location: Location, id?: string): Promise<{ manifest: Manifest; read: (f: FileEntry) => AsyncIterable<Uint8Array> }> {
  const check = await checkNativeFolder(native.folder);
  assertNativeId(native, check.id, id);
  const name = location.backupDir === 'filesystem' ? path.basename(location.path) : location.filepath.replace(/\/+$/, '').split('/').pop() || location.bucket;
  return { manifest: nativeManifest(native.folder, check, name), read: (f) => readNative(native.folder, f.path) };
}

/** An ID given with a native folder must be the one its backup_meta records (when it has one). */
function assertNativeId(native: OpenedNative, recorded: string | undefined, wanted: string | undefined): void {
  if (wanted !== undefined && recorded !== undefined && recorded !== wanted) {
    throw new MobrError('ENOENT_BACKUP', `the backup folder ${native.folder.store.location} holds backup ${recorded} (its backup_meta), not ${wanted}`);
  }
}
