/**
 * `mo_br version`: the build. Version from package.json; commit from the git checkout the
 * program runs from (read from `.git` files, no git process), `unknown` when there is none (an
 * installed package); the Node version and platform it runs on.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (holding package.json), from dist/src/cli or src/cli. */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(path.join(dir, 'package.json'));
      return dir;
    } catch {
      dir = path.dirname(dir);
    }
  }
  return undefined;
}

const read = (f: string): string | undefined => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};

/** Set by the single-file build (deploy/single-file.mjs), which has no package.json beside it. */
declare const __MOBR_VERSION__: string | undefined;

export function packageVersion(): string {
  if (typeof __MOBR_VERSION__ === 'string') return __MOBR_VERSION__;
  const root = packageRoot();
  const text = root && read(path.join(root, 'package.json'));
  return text ? ((JSON.parse(text) as { version?: string }).version ?? '0.0.0') : '0.0.0';
}

/** The commit checked out at `root` (a repository or a worktree), or undefined. */
function gitCommit(root: string): string | undefined {
  let gitDir = path.join(root, '.git');
  const dotGit = read(gitDir);
  if (dotGit?.startsWith('gitdir:')) gitDir = path.resolve(root, dotGit.slice(7).trim());
  const head = read(path.join(gitDir, 'HEAD'))?.trim();
  if (!head) return undefined;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const common = read(path.join(gitDir, 'commondir'))?.trim();
  const dirs = [gitDir, ...(common ? [path.resolve(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = read(path.join(d, ref))?.trim();
    if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  }
  for (const d of dirs) {
    for (const line of (read(path.join(d, 'packed-refs')) ?? '').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
    }
  }
  return undefined;
}

interface BuildInfo {
  version: string;
  commit: string;
  node: string;
  platform: string;
}

export function buildInfo(): BuildInfo {
  const root = packageRoot();
  return {
    version: packageVersion(),
    commit: (root && gitCommit(root)) || 'unknown',
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

/** The text `mo_br version` prints. */
export function versionText(b: BuildInfo): string {
  return `mo_br (mobr) version ${b.version}\ncommit: ${b.commit}\nnode: ${b.node}\nplatform: ${b.platform}\n`;
}
