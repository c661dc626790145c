import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of the files under `dir` (0 when it does not exist); symbolic links are not followed. */
export function folderSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const s = statSync(p, { throwIfNoEntry: false });
      if (!s) continue;
      total += s.isDirectory() ? folderSize(p) : s.size;
    } catch {
      // removed meanwhile, or unreadable: not counted
    }
  }
  return total;
}
