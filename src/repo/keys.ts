/** The repository's key layout (spec/repository.md §2), the same on every Store. */
export const CONFIG_KEY = 'config';
export const packKey = (id: string): string => `data/${id.slice(0, 2)}/${id}`;
export const indexKey = (id: string): string => `index/${id}`;
export const manifestKey = (id: string): string => `backups/${id}`;
export const lockKey = (id: string): string => `locks/${id}`;

export function packIdFromKey(key: string): string | undefined {
  const m = /^data\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m ? m[1] : undefined;
}
export const stagingFolder = (backupId: string): string => `staging/${backupId}`;
