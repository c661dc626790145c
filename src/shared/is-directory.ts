/** Whether a path is a folder; false when it does not exist or cannot be read. Node only. */
import { statSync } from 'node:fs';

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
