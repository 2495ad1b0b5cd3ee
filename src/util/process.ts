/**
 * Which process is which (spec/gc.md §2.1, "Lock identity"): a pid alone names a process only
 * within one PID namespace of one boot of one host, and only until the pid is reused. A lock
 * records all of it, so "its holder is gone" is said only when it can be proven.
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import * as os from 'node:os';

/** True when no process with this pid exists in our PID namespace (a lock's holder died). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** What a lock records about the process holding it (fields absent where /proc is not there). */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** /proc/sys/kernel/random/boot_id: a pid of another boot names nothing now. */
  boot?: string;
  /** Inode of /proc/self/ns/pid: pids of another namespace are not ours to look up. */
  pidns?: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): tells a reused pid apart. */
  start?: string;
}

const tryRead = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** Field 22 (starttime) of a /proc/<pid>/stat line; the command name (field 2) may hold spaces and ')'. */
function startTimeField(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // fields[0] is field 3
}

/** /proc is the one of our PID namespace (not the host's, as after `unshare --pid` without a new mount). */
const procIsOurs = (): boolean => tryRead(() => readlinkSync('/proc/self')) === String(process.pid);

let self: ProcessIdentity | undefined;

/** This process's identity (computed once). */
export function processIdentity(): ProcessIdentity {
  if (self) return self;
  const boot = tryRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const pidns = tryRead(() => statSync('/proc/self/ns/pid').ino);
  const start = tryRead(() => startTimeField(readFileSync('/proc/self/stat', 'utf8')));
  self = { host: os.hostname(), pid: process.pid, boot, pidns, start };
  return self;
}

/**
 * The process a lock names is provably gone: same host, same boot and same PID namespace as ours,
 * and its pid is free or now names a process that started at another time. A lock without these
 * facts (another namespace, another boot, a system without /proc, an older mobr) is never
 * proven dead here: only its age on the store's clock, or an explicit unlock, removes it.
 */
export function provablyGone(other: ProcessIdentity): boolean {
  const me = processIdentity();
  if (other.host !== me.host || other.pid <= 0 || other.pid === me.pid) return false;
  if (me.boot === undefined && me.pidns === undefined && other.boot === undefined && other.pidns === undefined) return processGone(other.pid); // no /proc on either side (macOS)
  if (me.boot === undefined || other.boot !== me.boot || me.pidns === undefined || other.pidns !== me.pidns) return false;
  if (processGone(other.pid)) return true;
  if (other.start === undefined || !procIsOurs()) return false;
  const now = tryRead(() => startTimeField(readFileSync(`/proc/${other.pid}/stat`, 'utf8')));
  return now !== undefined && now !== other.start;
}
