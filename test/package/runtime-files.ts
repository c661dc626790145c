/**
 * What the extension loads at run time, worked out from the code and the build, not from a hand-kept list:
 *   - dist/: every file the build wrote there except source maps (bundles, worker entries, webview assets);
 *   - modules the bundles leave external (`require("x")` in a node bundle, x not built in and not vscode): loaded in a
 *     child node and read back from require.cache, each with the package.json files node consults (package roots and
 *     nested "type" scopes); a native addon stands for its whole binary folder, per target;
 *   - the codecs' .wasm files, resolved from the specs src/volume/dicom/wasm.ts exports (as the code does at run time);
 *   - files package.json names (walkthrough media) and the bundled sample scan.
 * Paths are relative to the repository root, as in a package (`vsce ls`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import * as wasm from '../../src/volume/dicom/wasm';

export const ROOT = join(__dirname, '..', '..');
const rel = (p: string) => relative(ROOT, p).split(sep).join('/');
const NATIVE = /^(node_modules\/onnxruntime-node\/bin\/napi-v\d+)\/[^/]+\/[^/]+\//;

/** Bundles run by node (the webview bundle runs in the browser). */
function nodeBundles(): string[] {
  return readdirSync(join(ROOT, 'dist'))
    .filter((f) => f.endsWith('.js') && f !== 'webview.js')
    .map((f) => join(ROOT, 'dist', f));
}

/**
 * Modules a node bundle requires at run time from node_modules. esbuild prints every call it leaves as require("x")
 * with double quotes; single-quoted ones are inside strings (e.g. the development-only `require('tsx/cjs')`).
 */
export function externalModules(): string[] {
  const names = new Set<string>();
  for (const b of nodeBundles()) {
    for (const m of readFileSync(b, 'utf8').matchAll(/\brequire\("([^"./][^"]*)"\)/g)) {
      if (!isBuiltin(m[1]) && m[1] !== 'vscode') names.add(m[1]);
    }
  }
  return [...names].sort();
}

/** The package.json files node reads for `file`: the nearest one up to the package root, and the root's. */
function packageJsons(file: string): string[] {
  const out: string[] = [];
  for (let d = dirname(file); d.includes(`${sep}node_modules${sep}`); d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (!existsSync(pj)) continue;
    out.push(rel(pj));
    if (basenameIsPackageRoot(d)) break;
  }
  return out;
}
const basenameIsPackageRoot = (d: string) => /node_modules[\\/](@[^\\/]+[\\/])?[^\\/]+$/.test(d);

/** Files `require(name)` loads, from a child node's require.cache (this machine's native binary included). */
function loadedFiles(name: string): string[] {
  const script = `require(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(require.cache)))`;
  // a plain node: no NODE_OPTIONS (the test runner's --import tsx would load its own modules)
  const env = { ...process.env, NODE_OPTIONS: '' };
  const files = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env, encoding: 'utf8' })) as string[];
  return files.filter((f) => f.startsWith(join(ROOT, 'node_modules') + sep));
}

export interface RuntimeFiles {
  /** Needed by every target. */
  common: string[];
  /** Native binary folders (node_modules/.../napi-vN), whose <platform>/<arch> child each target needs whole. */
  nativeRoots: string[];
}

export function runtimeFiles(): RuntimeFiles {
  const common = new Set<string>();
  const nativeRoots = new Set<string>();
  if (!existsSync(join(ROOT, 'dist', 'extension.js'))) throw new Error('dist/ is empty: run `npm run build` first');
  for (const f of readdirSync(join(ROOT, 'dist'))) if (!f.endsWith('.map')) common.add(`dist/${f}`);

  for (const name of externalModules()) {
    for (const f of loadedFiles(name)) {
      const r = rel(f);
      const native = NATIVE.exec(r);
      if (native) nativeRoots.add(native[1]);
      else common.add(r);
      for (const pj of packageJsons(f)) common.add(pj);
    }
  }

  for (const spec of Object.values(wasm)) {
    if (typeof spec !== 'object' || spec === null || typeof (spec as { wasm?: unknown }).wasm !== 'string') continue;
    const file = require.resolve((spec as { wasm: string }).wasm, { paths: [ROOT] });
    common.add(rel(file));
    for (const pj of packageJsons(file)) common.add(pj);
  }

  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    main: string;
    icon?: string;
    contributes?: { walkthroughs?: { steps: { media: Record<string, unknown> }[] }[] };
  };
  common.add(manifest.main.replace(/^\.\//, ''));
  if (manifest.icon) common.add(manifest.icon);
  for (const w of manifest.contributes?.walkthroughs ?? []) {
    for (const step of w.steps) {
      for (const [k, v] of Object.entries(step.media)) {
        if (k !== 'image' && k !== 'svg' && k !== 'markdown') continue; // altText
        // image / svg / markdown: a path, or { light, dark, hc } paths
        for (const p of typeof v === 'string' ? [v] : typeof v === 'object' && v ? Object.values(v) : []) {
          if (typeof p === 'string') common.add(p);
        }
      }
    }
  }
  const sample = join(ROOT, 'media', 'sample');
  if (existsSync(sample)) for (const f of readdirSync(sample)) common.add(`media/sample/${f}`);
  return { common: [...common].sort(), nativeRoots: [...nativeRoots].sort() };
}

/** The files `target` (vsce's linux-x64, ...) needs: the common ones and its native folders' files as npm ships them. */
export function requiredFor(target: string, needs: RuntimeFiles): string[] {
  const [platform, arch] = target.split('-');
  const out = [...needs.common];
  for (const root of needs.nativeRoots) {
    const dir = join(ROOT, root, platform, arch);
    if (!existsSync(dir)) throw new Error(`${root}/${platform}/${arch} is missing from node_modules`);
    for (const f of readdirSync(dir)) out.push(`${root}/${platform}/${arch}/${f}`);
  }
  return out.sort();
}

/** Files in a package that must never be there: sources, tests, maps, caches, other targets' binaries. */
export function unwanted(target: string, files: string[], needs: RuntimeFiles): string[] {
  const [platform, arch] = target.split('-');
  return files.filter((f) => {
    if (/\.(ts|map|tsbuildinfo)$/.test(f)) return true;
    if (/^(src|test|tools|bench|webview|scripts|docs|out|\.cache|\.vscode-host|test-results)\//.test(f)) return true;
    const native = NATIVE.exec(f);
    return native !== null && needs.nativeRoots.includes(native[1]) && !f.startsWith(`${native[1]}/${platform}/${arch}/`);
  });
}
