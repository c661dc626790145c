/** DICOMDIR (PS3.10 media directory): the list of image files it references, resolved against its folder. */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VolumeError } from '../errors';
import type { DataSet } from './parse';

export const isDicomdir = (ds: DataSet): boolean => ds.elements.x00041220 !== undefined;

/** Referenced files of IMAGE (and other leaf) records. File IDs are upper-case by the standard; disks may differ. */
export function dicomdirFiles(ds: DataSet, dicomdirPath: string): { files: string[]; missing: string[] } {
  const records = ds.elements.x00041220?.items ?? [];
  const root = dirname(dicomdirPath);
  const files: string[] = [];
  const missing: string[] = [];
  for (const rec of records) {
    const id = rec.dataSet?.string('x00041500');
    if (!id) continue;
    const parts = id.replace(/\0/g, '').trim().split('\\').filter(Boolean);
    const path = resolveCaseInsensitive(root, parts);
    if (path) files.push(path);
    else missing.push(parts.join('/'));
  }
  if (files.length === 0 && missing.length === 0) {
    throw new VolumeError('EMPTY', 'This DICOMDIR references no files', dicomdirPath);
  }
  return { files, missing };
}

function resolveCaseInsensitive(root: string, parts: string[]): string | undefined {
  let dir = root;
  for (const part of parts) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return undefined;
    }
    const hit = entries.find((e) => e === part) ?? entries.find((e) => e.toLowerCase() === part.toLowerCase());
    if (!hit) return undefined;
    dir = join(dir, hit);
  }
  return dir;
}
