/** First extension-host test: the extension is there and activates in a real VS Code, and the workspace works. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import pkg from '../../../package.json';
import { test } from './index';

const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`; // hlip-viewer.hlip-viewer

test('the extension is installed under its id', () => {
  assert.equal(EXTENSION_ID, 'hlip-viewer.hlip-viewer');
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} not found; loaded: ${vscode.extensions.all.map((e) => e.id).join(', ')}`);
});

test('the extension activates', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext);
  await ext.activate();
  assert.equal(ext.isActive, true);
});

test('vscode.env describes the host', () => {
  assert.equal(typeof vscode.env.appName, 'string');
  assert.ok(vscode.env.appName.length > 0, 'empty appName');
  assert.match(vscode.version, /^\d+\.\d+\.\d+/);
  console.log(`# host: ${vscode.env.appName} ${vscode.version}, uiKind ${vscode.UIKind[vscode.env.uiKind]}, node ${process.version}`);
});

test('a text file in the workspace opens', async () => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder is open');
  const uri = vscode.Uri.joinPath(folder.uri, 'host-smoke.txt');
  const text = `written by the extension-host smoke test at ${new Date().toISOString()}\n`;
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  try {
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.getText(), text);
    assert.equal(doc.uri.fsPath, uri.fsPath);
    const editor = await vscode.window.showTextDocument(doc);
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), editor.document.uri.toString());
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  } finally {
    await vscode.workspace.fs.delete(uri);
  }
});
