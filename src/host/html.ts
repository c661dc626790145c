import * as vscode from 'vscode';
import { escapeHtml, webviewPage } from '../shared/webview-page';

/** The viewer page. Its script is async: it runs as soon as it is in (the viewer re-fits when the style sheets apply). */
export function viewerHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  return webviewPage(
    { cspSource: webview.cspSource, asset: (p) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', p)).toString(), title },
    {
      styles: ['codicon.css', 'viewer.css'],
      script: 'webview.js',
      body: `<div id="app" data-state="loading"><div id="status" class="status" role="status">Loading ${escapeHtml(title)}...</div></div>`,
      async: true,
    },
  );
}
