// Bundles: extension host + volume worker + CLI (node, cjs) and the webview (browser); copies the webview's assets.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// --outdir=DIR: somewhere else than dist/ (npm run package builds into its staging folder)
const outdir = process.argv.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length) ?? 'dist';
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
// Native / host-provided modules stay outside the bundle; WASM codecs are read from node_modules at run time.
const node = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'onnxruntime-node'] };

const targets = [
  { ...node, entryPoints: ['src/host/extension.ts'], outfile: `${outdir}/extension.js` },
  { ...node, entryPoints: ['src/volume/volume-worker.ts'], outfile: `${outdir}/volume-worker.js` },
  { ...node, entryPoints: ['src/hlip/inference/inference-worker.ts'], outfile: `${outdir}/hlip-worker.js` },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: `${outdir}/cli.js`, banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['webview/main.ts'], outfile: `${outdir}/webview.js`, platform: 'browser', format: 'iife', target: 'chrome120' },
  // Compare Runs / Checkpoints page: its own bundle with uPlot (charts), loaded only by that panel.
  { ...common, entryPoints: ['webview/compare/main.ts'], outfile: `${outdir}/compare.js`, platform: 'browser', format: 'iife', target: 'chrome120' },
];

mkdirSync(outdir, { recursive: true });
copyFileSync('node_modules/@vscode/codicons/dist/codicon.css', `${outdir}/codicon.css`);
copyFileSync('node_modules/@vscode/codicons/dist/codicon.ttf', `${outdir}/codicon.ttf`);
copyFileSync('media/viewer.css', `${outdir}/viewer.css`);
copyFileSync('webview/compare/compare.css', `${outdir}/compare.css`);
copyFileSync('node_modules/uplot/dist/uPlot.min.css', `${outdir}/uPlot.min.css`);

if (watch) {
  for (const t of targets) await (await esbuild.context(t)).watch();
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
