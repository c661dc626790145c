/** The custom editor for scan files: read-only, one ViewerSession per open editor. */
import * as vscode from 'vscode';
import { onDisk } from './local-copy';
import { type HostServices, ViewerSession } from './session';

export const VIEW_TYPE = 'hlip.volumeViewer';
/** Same editor offered in "Open With..." for any file (extension-less DICOM). */
export const VIEW_TYPE_ANY = 'hlip.volumeViewer.any';

class ScanDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class VolumeEditorProvider implements vscode.CustomReadonlyEditorProvider<ScanDocument> {
  constructor(private readonly host: HostServices) {}

  openCustomDocument(uri: vscode.Uri): ScanDocument {
    return new ScanDocument(uri);
  }

  async resolveCustomEditor(document: ScanDocument, panel: vscode.WebviewPanel): Promise<void> {
    // A scan on a virtual file system is read through VS Code's API into a temporary copy (see local-copy.ts); when
    // that fails, the session on the original shows the reason in the editor.
    const source = await onDisk(document.uri).catch(() => ({ uri: document.uri, dispose: async () => {} }));
    panel.onDidDispose(() => void source.dispose());
    new ViewerSession(panel, source.uri, this.host);
  }

  static register(host: HostServices): vscode.Disposable[] {
    const provider = new VolumeEditorProvider(host);
    const options = { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: true };
    return [
      vscode.window.registerCustomEditorProvider(VIEW_TYPE, provider, options),
      vscode.window.registerCustomEditorProvider(VIEW_TYPE_ANY, provider, options),
    ];
  }
}
