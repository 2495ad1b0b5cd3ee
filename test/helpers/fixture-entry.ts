import type { FileEntry } from '../../src/repo/manifest.js';

/**
 * How a frozen fixture's `expected.json` describes a manifest entry: what restore must give back
 * (meta without the host-specific ctime/inode mobr keeps for cold backups).
 */
export function fixtureEntry(f: FileEntry): Record<string, unknown> {
  return {
    path: f.path,
    kind: f.kind,
    size: f.size,
    mode: f.mode,
    mtimeMs: f.mtimeMs,
    ...(f.sha256 ? { sha256: Buffer.from(f.sha256).toString('hex') } : {}),
    ...(f.target !== undefined ? { target: f.target } : {}),
    ...(f.meta && !f.meta.ino ? { meta: f.meta } : {}),
  };
}
