/**
 * The Compare page's HTML (node side: the host panel and the benchmark build it the same way). The viewer's strict
 * Content-Security-Policy: nothing by default, our bundle by nonce, styles from the extension's dist/ only, images
 * from data:/blob: (chart PNG export). No inline styles, no eval: uPlot needs neither.
 */
export interface PageSources {
  /** The webview's CSP source (vscode.Webview.cspSource), or an http origin in the benchmark. */
  cspSource: string;
  /** URL of a file in dist/. */
  asset(file: string): string;
  title: string;
  nonce?: string;
}

export function comparePageHtml(s: PageSources): string {
  const nonce = s.nonce ?? [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const csp = ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${s.cspSource}`, `font-src ${s.cspSource}`, `img-src ${s.cspSource} data: blob:`].join('; ');
  const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${s.asset('uPlot.min.css')}">
<link rel="stylesheet" href="${s.asset('compare.css')}">
<title>${esc(s.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${s.asset('compare.js')}"></script>
</body>
</html>`;
}
