import * as vscode from 'vscode';

/**
 * The viewer page: a strict Content-Security-Policy (nothing by default; our bundled script by nonce; styles and fonts
 * from the extension's dist/ only; images from data:/blob: for canvases and screenshots). No remote origins, no eval.
 * The script is async: it runs as soon as it is in, not after the style sheets (the viewer re-fits when they apply).
 */
export function viewerHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const asset = (p: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', p));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data: blob:`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('codicon.css')}">
<link rel="stylesheet" href="${asset('viewer.css')}">
<title>${esc(title)}</title>
</head>
<body>
<div id="app" data-state="loading"><div id="status" class="status" role="status">Loading ${esc(title)}...</div></div>
<script nonce="${nonce}" src="${asset('webview.js')}" async></script>
</body>
</html>`;
}
