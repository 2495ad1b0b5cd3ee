/**
 * The log service's HAKeeper as far as a backup and a restore see it
 * (pkg/logservice/service_bootstrap.go, config.go):
 *  - its state (ID watermarks) lives in `<data-dir>/logservice-data/<uuid>`; when that is absent
 *    the service bootstraps a new cluster;
 *  - on bootstrap it reads [logservice.BootstrapConfig.restore] file-path (default "hk_data"):
 *    an absolute path with os.ReadFile (raw), a relative one through the log service's own LOCAL
 *    file service (framed when that is DISK). A missing file is ignored silently; a file that
 *    does not read (bad framing: "checksum not match") or does not parse stops the service.
 *    After restoring it writes the tag `./RESTORED` (one byte, 1) through LOCAL.
 * The emulator keeps its watermarks in `hk_state` there (its own JSON) and exposes whether the
 * last bootstrap restored them, so a test can see a misplaced hk_data that MatrixOne ignores.
 */
import { writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { localBackend, type ClusterConf } from './cluster.js';
import { decodeBackupData, encodeBackupData, type BackupData } from './hakeeper.js';
import { LocalFS, MoFsError } from './localfs.js';

/** First ID a freshly bootstrapped HAKeeper hands out (the emulator's choice). */
export const FIRST_ID = 1000n;

export interface HakeeperState {
  /** this start bootstrapped a new cluster (no log service state was there) */
  bootstrapped: boolean;
  /** the bootstrap restored ID watermarks from hk_data */
  restored: boolean;
  /** where it looked for hk_data, on disk */
  hkPath: string;
  nextID: bigint;
  allocate(): bigint;
  /** the watermarks as GetBackupData returns them (protobuf), after persisting one allocation */
  backupData(): Buffer;
}

export async function bootLogService(conf: ClusterConf): Promise<HakeeperState> {
  const statePath = join(conf.logDataDir, 'hk_state');
  let nextID = FIRST_ID;
  let bootstrapped = false;
  let restored = false;
  let hkPath = '';
  try {
    nextID = BigInt((JSON.parse(await readFile(statePath, 'utf8')) as { nextID: string }).nextID);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    bootstrapped = true;
    const local = await LocalFS.open(conf.logLocal.dir, localBackend(conf.logLocal));
    const fp = conf.hkFilePath;
    hkPath = fp === '' ? '' : isAbsolute(fp) ? fp : local.path(fp);
    const backup = await readBackup(local, fp);
    if (backup) {
      nextID = backup.nextID > nextID ? backup.nextID : nextID;
      restored = true;
      if (!(await local.exists('RESTORED'))) await local.write('RESTORED', Buffer.from([1]));
    }
    await mkdir(conf.logDataDir, { recursive: true });
  }
  const state: HakeeperState = {
    bootstrapped,
    restored,
    hkPath,
    nextID,
    allocate() {
      state.nextID += 1n;
      return state.nextID - 1n;
    },
    backupData() {
      const d: BackupData = { nextID: state.nextID, nextIDByKey: {} };
      return encodeBackupData(d);
    },
  };
  save(statePath, state.nextID);
  const allocate = state.allocate;
  state.allocate = () => {
    const id = allocate();
    save(statePath, state.nextID);
    return id;
  };
  return state;
}

function save(path: string, nextID: bigint): void {
  writeFileSync(path, JSON.stringify({ nextID: String(nextID) }));
}

async function readBackup(local: LocalFS, fp: string): Promise<BackupData | undefined> {
  if (fp === '') return undefined;
  let data: Buffer;
  try {
    data = isAbsolute(fp) ? await readFile(fp) : await local.read(fp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e instanceof MoFsError && e.kind === 'notfound')) return undefined;
    throw new Error(`log service: failed to get backup data: ${(e as Error).message}`);
  }
  try {
    return decodeBackupData(data);
  } catch (e) {
    throw new Error(`log service: failed to get backup data: ${(e as Error).message}`);
  }
}
