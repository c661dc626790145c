/**
 * First run: "HLIP: Get Started" (the walkthrough), "HLIP: Open Sample Scan" (the small real MRI bundled in
 * media/sample) and "HLIP: Show Runtime Info" (execution providers, onnxruntime version, model cache). The runtime is
 * probed by `hlip runtime` in a child process: loading onnxruntime's native module would tie up the extension host.
 */
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { formatRuntimeInfo, type RuntimeInfo } from '../hlip/inference/runtime-report';
import type { ModelManager } from './model-manager';

export const WALKTHROUGH_ID = 'hlip.gettingStarted';
export const SAMPLE_SCAN = ['media', 'sample', 'anatomical.nii'];

function runtimeInfoInChildProcess(cliScript: string, providers: string[] | undefined, cacheDir: string): Promise<RuntimeInfo> {
  // The user's own list only: the default order resolved here would reach the probe as a listed one (and a listed
  // webgpu is accepted on a software adapter).
  const args = [cliScript, 'runtime', '--json', '--cache', cacheDir, ...(providers?.length ? ['--ep', providers.join(',')] : [])];
  return new Promise((resolve, reject) => {
    // VS Code's execPath is Electron: run it as plain node.
    execFile(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 120_000, maxBuffer: 4 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`the runtime probe failed: ${stderr.trim().split('\n').pop() || err.message}`));
      else resolve(JSON.parse(stdout) as RuntimeInfo);
    });
  });
}

export function registerFirstRun(context: vscode.ExtensionContext, models: ModelManager, cliScript: string, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('hlip.gettingStarted', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#${WALKTHROUGH_ID}`, false),
    ),
    vscode.commands.registerCommand('hlip.openSampleScan', () =>
      vscode.commands.executeCommand('vscode.openWith', vscode.Uri.joinPath(context.extensionUri, ...SAMPLE_SCAN), 'hlip.volumeViewer'),
    ),
    vscode.commands.registerCommand('hlip.showRuntimeInfo', async () => {
      const probing = vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'HLIP: probing execution providers...' },
        () => runtimeInfoInChildProcess(cliScript, models.providerSetting(), models.catalogue.root),
      );
      const info = await Promise.resolve(probing).catch((e: Error) => {
        log.error(e.message);
        void vscode.window.showErrorMessage(`HLIP: ${e.message}`);
        return undefined;
      });
      if (!info) return undefined;
      log.info(`Runtime: ${info.requested.join(' > ')} -> ${info.inUse}`);
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: formatRuntimeInfo(info) });
      await vscode.window.showTextDocument(doc, { preview: true });
      return info;
    }),
  ];
}
