/**
 * The viewer inside a real VS Code: each file type opens in the custom editor and renders, "Open Folder as Study"
 * lists the series, and unreadable files show their error in the editor.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HlipApi } from '../../../src/host/extension';
import type { WebviewMessage } from '../../../src/protocol';
import { test } from './index';

let api: HlipApi;
async function hlip(): Promise<HlipApi> {
  if (!api) api = (await vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.activate()) as HlipApi;
  return api;
}

const workspace = () => vscode.workspace.workspaceFolders![0].uri;
const file = (name: string) => vscode.Uri.joinPath(workspace(), name);

/** Resolves with the first message of `type` that a viewer of `uri` sends. */
async function nextMessage<T extends WebviewMessage['type']>(uri: vscode.Uri, type: T, ms = 30_000): Promise<Extract<WebviewMessage, { type: T }>> {
  const { onDidReceive } = await hlip();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (sub.dispose(), reject(new Error(`no '${type}' from the viewer of ${uri.fsPath} in ${ms} ms`))), ms);
    const sub = onDidReceive(({ session, message }) => {
      if (session.source.fsPath === uri.fsPath && message.type === type) {
        clearTimeout(timer);
        sub.dispose();
        resolve(message as Extract<WebviewMessage, { type: T }>);
      }
    });
  });
}

async function openAndRender(name: string, viewType = 'hlip.volumeViewer') {
  const uri = file(name);
  const rendered = nextMessage(uri, 'rendered');
  await vscode.commands.executeCommand('vscode.openWith', uri, viewType);
  const msg = await rendered;
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  return msg;
}

test('the custom editor is the default for .nii, .nii.gz and .dcm', async () => {
  await hlip();
  const pkg = vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.packageJSON;
  const editor = pkg.contributes.customEditors.find((e: { viewType: string }) => e.viewType === 'hlip.volumeViewer');
  assert.deepEqual(editor.selector.map((s: { filenamePattern: string }) => s.filenamePattern).slice(0, 3), ['*.nii', '*.nii.gz', '*.dcm']);
  assert.equal(editor.priority, 'default');
});

for (const name of ['phantom.nii.gz', 'anatomical.nii', 'example4d.nii.gz', 'CT_small.dcm']) {
  test(`${name} opens and renders all three planes`, async () => {
    const msg = await openAndRender(name);
    assert.equal(msg.volume, 0);
    assert.ok(msg.slices.every((s) => s >= 0));
  });
}

test('an extension-less DICOM file opens with "Open With..." (the any-file editor)', async () => {
  const msg = await openAndRender('IM0001', 'hlip.volumeViewer.any');
  assert.equal(msg.volume, 0);
});

test('opening a file through vscode.open uses the viewer by default', async () => {
  const uri = file('phantom.nii.gz');
  const rendered = nextMessage(uri, 'rendered');
  await vscode.commands.executeCommand('vscode.open', uri);
  await rendered;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
  assert.ok(tab?.input instanceof vscode.TabInputCustom, 'the active tab is not a custom editor');
  assert.equal((tab.input as vscode.TabInputCustom).viewType, 'hlip.volumeViewer');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('"HLIP: Open Folder as Study" lists both series of a DICOM study and renders the first', async () => {
  const { sessions } = await hlip();
  const folder = file('study');
  const rendered = nextMessage(folder, 'rendered');
  await vscode.commands.executeCommand('hlip.openFolderAsStudy', folder);
  await rendered;
  const session = sessions().find((s) => s.source.fsPath === folder.fsPath);
  assert.ok(session, 'no viewer session for the folder');
  const summary = await session.summary();
  assert.equal(summary.volumes.length, 2, summary.volumes.map((v) => v.name).join(', '));
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('one slice of a series opens the whole series (24 slices), as radiology viewers do', async () => {
  const { sessions } = await hlip();
  const dir = file('study/ct');
  const [slice] = (await vscode.workspace.fs.readDirectory(dir)).map(([n]) => n).sort();
  const uri = vscode.Uri.joinPath(dir, slice);
  const rendered = nextMessage(uri, 'rendered');
  await vscode.commands.executeCommand('vscode.openWith', uri, 'hlip.volumeViewer.any');
  await rendered;
  const summary = await sessions().find((s) => s.source.fsPath === uri.fsPath)!.summary();
  assert.deepEqual(summary.volumes.map((v) => v.dims), [[40, 36, 24]]);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

for (const [name, code] of [
  ['broken.nii.gz', 'TRUNCATED'],
  ['report.dcm', 'NOT_AN_IMAGE'],
  ['not-a-scan.dcm', 'UNRECOGNISED'],
] as const) {
  test(`${name}: the editor shows the ${code} error instead of a blank panel`, async () => {
    const uri = file(name);
    const shown = nextMessage(uri, 'errorShown');
    await vscode.commands.executeCommand('vscode.openWith', uri, 'hlip.volumeViewer');
    assert.equal((await shown).code, code);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
}

test('viewer commands are registered', async () => {
  await hlip();
  const all = await vscode.commands.getCommands(true);
  for (const id of ['hlip.openFolderAsStudy', 'hlip.viewer.resetView', 'hlip.viewer.cycleLayout', 'hlip.viewer.screenshot', 'hlip.viewer.loadOverlay']) {
    assert.ok(all.includes(id), `${id} missing`);
  }
});

test('restricted mode (untrusted workspace): the viewer still opens scans', async () => {
  console.log(`# workspace trusted: ${vscode.workspace.isTrusted}, HLIP_WORKSPACE_TRUST=${process.env.HLIP_WORKSPACE_TRUST}`);
  if (process.env.HLIP_WORKSPACE_TRUST !== '1') return; // the trusted run covers everything else
  assert.equal(vscode.workspace.isTrusted, false, 'workspace trust was asked for but the workspace is trusted');
  const msg = await openAndRender('phantom.nii.gz');
  assert.equal(msg.volume, 0);
});
