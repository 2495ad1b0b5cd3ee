/**
 * Which links a cold backup follows (issue #26.14; spec/repository.md §7.2): only `shared` and
 * `local` directly in mo-data, when they lead to a folder elsewhere (another disk); any other
 * link, at the top too (`abslink -> /elsewhere`), is stored as a link and named, never walked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { absPath, walkTree } from '../../src/source/walk.js';
import { coldWalkOptions } from '../../src/cli/walk-summary.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'mobr-links-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a cold backup follows only mo-data/shared and mo-data/local', () => {
  it('stores abslink -> a folder elsewhere as a link; follows shared and local', async () => {
    for (const d of ['disk2/shared', 'disk2/local', 'etc-like']) mkdirSync(path.join(work, d), { recursive: true });
    writeFileSync(path.join(work, 'disk2/shared/obj'), 'o');
    writeFileSync(path.join(work, 'disk2/local/meta'), 'm');
    for (let i = 0; i < 20; i++) writeFileSync(path.join(work, `etc-like/f${i}`), 'secret');
    const data = path.join(work, 'mo-data');
    mkdirSync(data);
    symlinkSync(path.join(work, 'disk2/shared'), path.join(data, 'shared'));
    symlinkSync(path.join(work, 'disk2/local'), path.join(data, 'local'));
    symlinkSync(path.join(work, 'etc-like'), path.join(data, 'abslink'));
    const { entries, report } = await walkTree(data, coldWalkOptions({ backupDir: 'filesystem', path: path.join(work, 'repo') }, path.join(work, 'mo_br.meta')));
    const kinds = Object.fromEntries(entries.map((e) => [e.path, e.kind]));
    expect(kinds).toEqual({ abslink: 'symlink', local: 'dir', 'local/meta': 'file', shared: 'dir', 'shared/obj': 'file' });
    expect(report.followed.map((f) => f.path).sort()).toEqual(['local', 'shared']);
    expect(report.linksOut).toEqual([{ path: 'abslink', target: path.join(work, 'etc-like') }]);
  });
});

describe('entry paths', () => {
  it("each entry's absolute path is path.join of the root and its path, from a root given as a relative path with a trailing slash, and through a followed link", async () => {
    const root = path.join(work, 'paths');
    for (const d of ['a/b', 'c']) mkdirSync(path.join(root, d), { recursive: true });
    for (const f of ['a/b/f1', 'a/f2', 'c/f3', 'f4']) writeFileSync(path.join(root, f), f);
    mkdirSync(path.join(work, 'disk3/shared'), { recursive: true });
    writeFileSync(path.join(work, 'disk3/shared/obj'), 'o');
    symlinkSync(path.join(work, 'disk3/shared'), path.join(root, 'shared'));
    const given = `${path.relative(process.cwd(), root)}/`;
    const { entries } = await walkTree(given, { followTopLinks: ['shared'] });
    expect(entries.map((e) => e.path).sort()).toEqual(['a', 'a/b', 'a/b/f1', 'a/f2', 'c', 'c/f3', 'f4', 'shared', 'shared/obj']);
    for (const e of entries) expect(absPath(e)).toBe(path.join(root, e.path)); // a followed link's entries lie under the link's path
  });
});
