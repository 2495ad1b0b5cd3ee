/**
 * What `delete` and `prune` tell the user about space (spec/gc.md §3): what gc freed, what it held
 * back and until when, or why it did not run. Also the `--safety` flag (kopia's word), gc's
 * progress line, and the test hook that pauses gc at a named step.
 */
import { MobrError } from '../errors.js';
import type { GcOptions, GcReport } from '../repo/gc.js';
import { formatBytes } from './units.js';
import { pauseAt } from './test-pause.js';
import type { Progress } from './progress.js';

/** `--safety full` (default: the window only when another process held the repository) or `none`. */
export function safetyFlag(v: string | undefined): 'auto' | 'none' {
  if (v === undefined || v === 'full') return 'auto';
  if (v === 'none') return 'none';
  throw new MobrError('BAD_INPUT', `bad --safety ${JSON.stringify(v.slice(0, 20))}: use none (free everything unreferenced now) or full (the default)`);
}

/** Lines (each ending in \n) saying what gc did about space. */
export function spaceLines(prefix: string, gc: GcReport | 'deferred' | undefined, deferredBecause?: string): string {
  if (gc === undefined) return '';
  if (gc === 'deferred') {
    return `${prefix}: no space freed yet: ${deferredBecause ?? 'other processes hold the repository'}. The data is freed by the next delete or prune run while no backup runs\n`;
  }
  const out = [`${prefix}: freed ${formatBytes(Math.max(0, gc.bytesFreed))} (${gc.packsDeleted + gc.orphansDeleted} pack(s) deleted, ${gc.packsRepacked} rewritten)\n`];
  if (gc.bytesHeld > 0) {
    const until = gc.heldUntil === undefined ? 'later' : new Date(gc.heldUntil).toISOString();
    out.push(`${prefix}: held back ${formatBytes(gc.bytesHeld)} until ${until}: another process held the repository, and what a running backup may still need is kept for ${Math.round(gc.safetyWindowMs / 60_000)} min; a delete or prune after that frees it (--safety none frees it now)\n`);
  }
  if (gc.packsMissing > 0) out.push(`${prefix}: ${gc.packsMissing} pack(s) the index named were missing; their records were dropped (run check)\n`);
  if (gc.damagedOrphans.length > 0) out.push(`${prefix}: ${gc.damagedOrphans.length} damaged pack(s) no index names were left in place: ${gc.damagedOrphans.slice(0, 3).map((p) => p.slice(0, 16)).join(', ')}\n`);
  return out.join('');
}

const GC_UNITS = { select: 'backups', mark: 'backups', repack: 'packs', delete: 'objects' } as const;

/** gc's steps on the progress line: backups marked, packs repacked (bytes read), objects deleted; each with its own rate and ETA. */
export function gcProgress(progress: Progress): GcOptions['onProgress'] {
  return (p) => progress.update({ phase: p.phase, files: p.done, totalFiles: p.total, bytes: p.bytes, totalBytes: p.totalBytes, unit: GC_UNITS[p.phase] });
}

/**
 * Test hook (spec/gc.md §3, "Interrupted"; test-pause.ts): `MOBR_TEST_GC_PAUSE=<step>:<file>` makes
 * gc (or check --repair) create <file> when it reaches <step> (GcStep; repair: 'planned' or 'indexed') and wait there until a signal
 * comes or <file> is removed (at most 60 s).
 */
export function gcPauseHook(signal: AbortSignal | undefined, env: NodeJS.ProcessEnv = process.env): GcOptions['onStep'] {
  const v = env.MOBR_TEST_GC_PAUSE;
  const at = v?.indexOf(':') ?? -1;
  if (!v || at < 0) return undefined;
  const [step, file] = [v.slice(0, at), v.slice(at + 1)];
  return async (s) => {
    if (s === step) await pauseAt(file, s, signal);
  };
}
