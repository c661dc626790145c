import { basename } from 'node:path';
import * as vscode from 'vscode';
import { VIEWER_COMMANDS, type ViewerCommand } from '../protocol';
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

export function registerCommands(host: HostServices): vscode.Disposable[] {
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
  ];
}
