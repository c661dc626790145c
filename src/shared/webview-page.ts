/**
 * The HTML of every webview page (viewer, Compare): one strict Content-Security-Policy (nothing by default; our bundled
 * script by nonce; styles and fonts from the extension's dist/ only; images from data:/blob: for canvases, screenshots
 * and chart export). No remote origins, no inline styles, no eval. Node-side, without vscode: the benchmarks build the
 * same pages over http.
 */
export interface PageSources {
  /** The webview's CSP source (vscode.Webview.cspSource), or an http origin in a benchmark. */
  cspSource: string;
  /** URL of a file in dist/. */
  asset(file: string): string;
  title: string;
  nonce?: string;
}

export interface PageContent {
  styles: string[];
  script: string;
  /** Inner HTML of the body before the script (already escaped). */
  body: string;
  /** Run the script as soon as it is in, not after the style sheets. */
  async?: boolean;
}

export const escapeHtml = (t: string): string => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function webviewPage(s: PageSources, page: PageContent): string {
  const nonce = s.nonce ?? [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const csp = ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${s.cspSource}`, `font-src ${s.cspSource}`, `img-src ${s.cspSource} data: blob:`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${page.styles.map((f) => `<link rel="stylesheet" href="${s.asset(f)}">`).join('\n')}
<title>${escapeHtml(s.title)}</title>
</head>
<body>
${page.body}
<script nonce="${nonce}" src="${s.asset(page.script)}"${page.async ? ' async' : ''}></script>
</body>
</html>`;
}
