// Bundles: extension host + volume worker + CLI (node, cjs) and the webview (browser); copies the webview's assets.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
// Native / host-provided modules stay outside the bundle; WASM codecs are read from node_modules at run time.
const node = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'onnxruntime-node'] };

const targets = [
  { ...node, entryPoints: ['src/host/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/volume/volume-worker.ts'], outfile: 'dist/volume-worker.js' },
  { ...node, entryPoints: ['src/hlip/inference/inference-worker.ts'], outfile: 'dist/hlip-worker.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'chrome120' },
  // Compare Runs / Checkpoints page: its own bundle with uPlot (charts), loaded only by that panel.
  { ...common, entryPoints: ['webview/compare/main.ts'], outfile: 'dist/compare.js', platform: 'browser', format: 'iife', target: 'chrome120' },
];

mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/@vscode/codicons/dist/codicon.css', 'dist/codicon.css');
copyFileSync('node_modules/@vscode/codicons/dist/codicon.ttf', 'dist/codicon.ttf');
copyFileSync('media/viewer.css', 'dist/viewer.css');
copyFileSync('webview/compare/compare.css', 'dist/compare.css');
copyFileSync('node_modules/uplot/dist/uPlot.min.css', 'dist/uPlot.min.css');

if (watch) {
  for (const t of targets) await (await esbuild.context(t)).watch();
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
