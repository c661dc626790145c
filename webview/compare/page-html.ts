/** The Compare page's HTML (the host panel and the benchmark build it the same way), with the viewer's strict CSP. */
import { type PageSources, webviewPage } from '../../src/shared/webview-page';

export type { PageSources } from '../../src/shared/webview-page';

export const comparePageHtml = (s: PageSources): string =>
  webviewPage(s, { styles: ['uPlot.min.css', 'compare.css'], script: 'compare.js', body: '<div id="app"></div>' });
