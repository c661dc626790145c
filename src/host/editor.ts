/** The custom editor for scan files: read-only, one ViewerSession per open editor. */
import * as vscode from 'vscode';
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

  resolveCustomEditor(document: ScanDocument, panel: vscode.WebviewPanel): void {
    new ViewerSession(panel, document.uri, this.host);
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
