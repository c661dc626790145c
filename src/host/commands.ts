import { basename } from 'node:path';
import * as vscode from 'vscode';
import { VIEWER_COMMANDS, type ViewerCommand } from '../protocol';
import type { ClassificationController } from './classification-controller';
import type { ModelManager } from './model-manager';
import { type HostServices, ViewerSession } from './session';

export const STUDY_PANEL = 'hlip.study';

/** "HLIP: Open Folder as Study": a folder (DICOM series, study, or NIfTI scans) in a viewer panel. */
async function openFolderAsStudy(host: HostServices, uri?: vscode.Uri): Promise<ViewerSession | undefined> {
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Folder to open as a study' });
    uri = picked?.[0];
  }
  if (!uri) return undefined;
  const panel = vscode.window.createWebviewPanel(STUDY_PANEL, basename(uri.fsPath), vscode.ViewColumn.Active, {
    retainContextWhenHidden: true,
  });
  return new ViewerSession(panel, uri, host);
}

const COMMAND_IDS: Record<ViewerCommand, string> = {
  resetView: 'hlip.viewer.resetView',
  cycleLayout: 'hlip.viewer.cycleLayout',
  toggleHeader: 'hlip.viewer.toggleHeader',
  toggleOverlay: 'hlip.viewer.toggleOverlay',
  screenshot: 'hlip.viewer.screenshot',
  screenshotAs: 'hlip.viewer.screenshotAs',
};

/**
 * "HLIP: Classify Study": the study in the active viewer; otherwise (or with an Explorer resource) a file or folder the
 * user picks, opened in the viewer first so the results and maps have somewhere to appear.
 */
async function classifyStudy(host: HostServices, classification: ClassificationController, uri?: vscode.Uri) {
  let session = uri ? undefined : ViewerSession.active();
  if (!session) {
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({ title: 'Study to classify (scan file or folder)', canSelectFiles: true, canSelectFolders: true });
      uri = picked?.[0];
    }
    if (!uri) return undefined;
    const isDir = (await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory;
    if (isDir) session = await openFolderAsStudy(host, uri);
    else {
      await vscode.commands.executeCommand('vscode.openWith', uri, 'hlip.volumeViewer');
      session = ViewerSession.sessions().find((s) => s.source.fsPath === uri!.fsPath);
    }
  }
  if (!session) return undefined;
  return (await classification.classify(session))?.results;
}

export function registerCommands(host: HostServices, models: ModelManager, classification: ClassificationController): vscode.Disposable[] {
  const inActive = (fn: (s: ViewerSession) => unknown) => () => {
    const s = ViewerSession.active();
    if (s) return fn(s);
    void vscode.window.showInformationMessage('HLIP: open a scan in the viewer first.');
  };
  return [
    vscode.commands.registerCommand('hlip.openFolderAsStudy', (uri?: vscode.Uri) => openFolderAsStudy(host, uri)),
    vscode.commands.registerCommand('hlip.viewer.loadOverlay', (uri?: vscode.Uri) =>
      inActive((s) => (uri instanceof vscode.Uri ? s.loadOverlay(uri) : s.post({ type: 'command', command: 'toggleOverlay' })))(),
    ),
    ...VIEWER_COMMANDS.map((c) => vscode.commands.registerCommand(COMMAND_IDS[c], inActive((s) => s.command(c)))),
    vscode.commands.registerCommand('hlip.classifyStudy', (uri?: vscode.Uri) => classifyStudy(host, classification, uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('hlip.selectModel', async () => (await models.selectModel())?.manifest),
    vscode.commands.registerCommand('hlip.importCheckpoint', async (uri?: vscode.Uri) => (await models.importCheckpoint(uri instanceof vscode.Uri ? uri : undefined))?.manifest),
    vscode.commands.registerCommand('hlip.downloadModel', async (source?: string) => (await models.download(typeof source === 'string' ? source : undefined))?.manifest),
    vscode.commands.registerCommand('hlip.useDemoModel', async () => (await models.useDemoModel())?.manifest),
    vscode.commands.registerCommand('hlip.clearModelCache', () => models.clearCache()),
  ];
}
