/** A repository folder with one key file (cheap test KDF), for the `key` command tests. */
import { initKeys } from '../../src/crypto/keyfile.js';
import { Repository } from '../../src/repo/repository.js';
import { FsStore } from '../../src/store/fs.js';

/** Makes `dir` a repository with one key file for `password`; returns `dir`. */
export async function keyedRepo(dir: string, password: string): Promise<string> {
  const store = new FsStore(dir);
  await Repository.init(store);
  await initKeys(store, new TextEncoder().encode(password), { kdf: { name: 'scrypt', n: 16, r: 1, p: 1 } });
  return dir;
}
