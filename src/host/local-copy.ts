/**
 * Scans on a file system that is not the disk (a virtual workspace such as a GitHub repository opened without cloning,
 * or any other FileSystemProvider): the readers work on disk paths (worker threads, streamed gzip, series from the
 * file's folder), so the file is read through VS Code's file system API into a private temporary folder and opened
 * from there. One file only: a DICOM series on such a file system opens as the slice that was picked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';

export interface OnDisk {
  uri: vscode.Uri;
  /** Removes the temporary copy (nothing for a file that was on disk already). */
  dispose(): Promise<void>;
}

export async function onDisk(uri: vscode.Uri): Promise<OnDisk> {
  if (uri.scheme === 'file') return { uri, dispose: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'hlip-copy-'));
  const name = uri.path.split('/').pop() || 'scan';
  const local = join(dir, name);
  await writeFile(local, await vscode.workspace.fs.readFile(uri));
  return { uri: vscode.Uri.file(local), dispose: () => rm(dir, { recursive: true, force: true }) };
}
