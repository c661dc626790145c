/** activate(): wires the editor, commands, status bar and log together; nothing else lives here. */
import * as vscode from 'vscode';
import { ClassificationController } from './classification-controller';
import { registerCommands } from './commands';
import { VolumeEditorProvider } from './editor';
import { registerFirstRun } from './first-run';
import { ModelManager } from './model-manager';
import { type RunsApi, registerRuns } from './runs/runs-commands';
import { type HostServices, ViewerSession } from './session';
import { prepareVolumeWorker } from '../volume/load-in-worker';

export interface HlipApi {
  /** Open viewers and their messages: used by the extension-host tests and the viewer benchmark. */
  sessions: typeof ViewerSession.sessions;
  onDidReceive: typeof ViewerSession.onDidReceive;
  /** HLIP state per viewer (classification results), for tests. */
  hlip: ClassificationController;
  /** The HLIP Runs view and the Compare panels, for tests and the runs benchmark. */
  runs: RunsApi;
}

export function activate(context: vscode.ExtensionContext): HlipApi {
  const activatedAt = Date.now();
  const log = vscode.window.createOutputChannel('HLIP', { log: true });
  const status = vscode.window.createStatusBarItem('hlip.viewer', vscode.StatusBarAlignment.Right, 100);
  status.name = 'HLIP Viewer';
  const dist = (f: string) => vscode.Uri.joinPath(context.extensionUri, 'dist', f).fsPath;
  prepareVolumeWorker(dist('volume-worker.js')); // first: the first open's reader, ready while VS Code boots the webview
  const models = new ModelManager(context, log, dist('hlip-worker.js'), dist('cli.js'));
  const classification = new ClassificationController(context, models, log);
  const host: HostServices = { extensionUri: context.extensionUri, log, status, workerScript: dist('volume-worker.js'), requests: classification, activatedAt };
  const runs = registerRuns(context, log, models, classification, { workerScript: dist('hlip-worker.js'), cliScript: dist('cli.js') });
  context.subscriptions.push(...runs.disposables);
  context.subscriptions.push(log, status, models, ...VolumeEditorProvider.register(host), ...registerCommands(host, models, classification), ...registerFirstRun(context, models, dist('cli.js'), log));
  return { sessions: () => ViewerSession.sessions(), onDidReceive: ViewerSession.onDidReceive, hlip: classification, runs: runs.api };
}

export function deactivate(): void {}
