/** activate(): wires the editor, commands, status bar and log together; nothing else lives here. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { VolumeEditorProvider } from './editor';
import { HlipService } from './hlip-service';
import { type HostServices, ViewerSession } from './session';

export interface HlipApi {
  /** Open viewers and their messages: used by the extension-host tests and the viewer benchmark. */
  sessions: typeof ViewerSession.sessions;
  onDidReceive: typeof ViewerSession.onDidReceive;
  /** HLIP state per viewer (classification results), for tests. */
  hlip: HlipService;
}

export function activate(context: vscode.ExtensionContext): HlipApi {
  const log = vscode.window.createOutputChannel('HLIP', { log: true });
  const status = vscode.window.createStatusBarItem('hlip.viewer', vscode.StatusBarAlignment.Right, 100);
  status.name = 'HLIP Viewer';
  const host: HostServices = {
    extensionUri: context.extensionUri,
    log,
    status,
    workerScript: vscode.Uri.joinPath(context.extensionUri, 'dist', 'volume-worker.js').fsPath,
  };
  const dist = (f: string) => vscode.Uri.joinPath(context.extensionUri, 'dist', f).fsPath;
  const hlip = new HlipService(context, log, dist('hlip-worker.js'), dist('cli.js'));
  host.hlip = hlip;
  context.subscriptions.push(log, status, hlip, ...VolumeEditorProvider.register(host), ...registerCommands(host));
  return { sessions: () => ViewerSession.sessions(), onDidReceive: ViewerSession.onDidReceive, hlip };
}

export function deactivate(): void {}
