// Bundles the three targets: extension host (node/cjs), CLI (node/cjs), webview (browser).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info' };
// Native / host-provided modules stay outside the bundle; WASM codecs are loaded from node_modules at run time.
const nodeExternal = ['vscode', 'onnxruntime-node'];

const targets = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs',
    target: 'node20', external: nodeExternal, banner: { js: '#!/usr/bin/env node' } },
];
if (existsSync('src/host/extension.ts')) {
  targets.push({ ...common, entryPoints: ['src/host/extension.ts'], outfile: 'dist/extension.js', platform: 'node',
    format: 'cjs', target: 'node20', external: nodeExternal });
}
if (existsSync('webview/main.ts')) {
  targets.push({ ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser',
    format: 'iife', target: 'chrome120' });
}

if (watch) {
  for (const t of targets) await (await esbuild.context(t)).watch();
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
