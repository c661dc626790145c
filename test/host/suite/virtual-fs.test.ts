/**
 * A scan on a file system that is not the disk (as in a virtual workspace): the editor reads it through VS Code's file
 * system API into a temporary copy, renders it, and removes the copy when the editor closes. The file system here is
 * a small in-memory FileSystemProvider registered by the test, holding a real NIfTI from the workspace.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { HlipApi } from '../../../src/host/extension';
import { test } from './index';

class MemoryFs implements vscode.FileSystemProvider {
  private readonly files = new Map<string, Uint8Array>();
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => {});
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const f = this.files.get(uri.path);
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: f.length };
  }
  readDirectory(): [string, vscode.FileType][] {
    return [...this.files.keys()].map((p) => [p.slice(1), vscode.FileType.File]);
  }
  readFile(uri: vscode.Uri): Uint8Array {
    const f = this.files.get(uri.path);
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    return f;
  }
  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    this.files.set(uri.path, content);
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a scan on a virtual file system opens from a temporary copy, removed when the editor closes', async () => {
  const api = (await vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.activate()) as HlipApi;
  const memfs = new MemoryFs();
  const registration = vscode.workspace.registerFileSystemProvider('hlipmem', memfs, { isReadonly: true });
  try {
    const workspace = vscode.workspace.workspaceFolders![0].uri;
    memfs.writeFile(vscode.Uri.parse('hlipmem:/brain.nii'), await vscode.workspace.fs.readFile(vscode.Uri.joinPath(workspace, 'anatomical.nii')));
    const rendered = new Promise<vscode.Uri>((resolve, reject) => {
      const timer = setTimeout(() => (sub.dispose(), reject(new Error('the viewer of hlipmem:/brain.nii did not render in 30 s'))), 30_000);
      const sub = api.onDidReceive(({ session, message }) => {
        if (basename(session.source.fsPath) === 'brain.nii' && message.type === 'rendered') {
          clearTimeout(timer);
          sub.dispose();
          resolve(session.source);
        }
      });
    });
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.parse('hlipmem:/brain.nii'), 'hlip.volumeViewer');
    const source = await rendered;
    assert.equal(source.scheme, 'file');
    assert.ok(source.fsPath.startsWith(tmpdir()), source.fsPath);
    assert.ok(existsSync(source.fsPath));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (let i = 0; i < 50 && existsSync(source.fsPath); i++) await sleep(100);
    assert.ok(!existsSync(source.fsPath), 'the temporary copy is removed with its editor');
  } finally {
    registration.dispose();
  }
});
