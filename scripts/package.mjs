#!/usr/bin/env node
// One .vsix per platform with @vscode/vsce --target: a production build (minified, no source maps), then per target
// the files named in .vscodeignore plus that target's onnxruntime-node binaries, nothing else.
//
//   npm run package [-- --target linux-x64 [--target ...]] [--out DIR]
//   node scripts/package.mjs --list TARGET       # the file list vsce would pack (vsce ls), one path a line
//
// Why vsce's dependency mode and not --no-dependencies: with --no-dependencies vsce never looks inside node_modules,
// and onnxruntime-node (a native addon, loaded by a computed path) and the codecs' .wasm files cannot be bundled, so
// they have to ship from node_modules. vsce lists the production dependencies (`npm ls --production`) and
// .vscodeignore's `!` lines pick the few files the code loads; a per-target copy of it (--ignoreFile) adds
// node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>/.
//
// vsce runs in a staging folder (out/vsix/stage): the manifest, docs, media/ and models/ copied, dist/ a production
// build of its own (the shared dist/ keeps its development build, and a build someone runs meanwhile cannot leak in),
// node_modules a link to the repository's.
//
// darwin-x64 (Intel Mac) is not offered: onnxruntime-node 1.30 ships no darwin/x64 binaries.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-arm64'];
const NOT_OFFERED = { 'darwin-x64': 'onnxruntime-node ships no darwin/x64 (Intel Mac) binaries' };
const VSCE = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
export const DEFAULT_OUT = join(ROOT, 'out', 'vsix');

/** onnxruntime-node's binary folder for a vsce target (linux-x64 -> .../linux/x64), relative to the repository. */
export function nativeFolder(target) {
  const [platform, arch] = target.split('-');
  return `${ORT_BIN}/${platform}/${arch}`;
}

function checkTarget(target) {
  if (NOT_OFFERED[target]) throw new Error(`${target} is not offered: ${NOT_OFFERED[target]}`);
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target} (targets: ${TARGETS.join(', ')})`);
  if (!existsSync(join(ROOT, nativeFolder(target)))) throw new Error(`${nativeFolder(target)} is missing: run npm ci`);
}

/** Writes `base` (default: .vscodeignore) plus the target's native folder into `dir`; returns its path. */
export function ignoreFileFor(target, dir = DEFAULT_OUT, base = readFileSync(join(ROOT, '.vscodeignore'), 'utf8')) {
  checkTarget(target);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `.vscodeignore-${target}`);
  writeFileSync(file, `${base}\n# ${target}: its onnxruntime-node binaries\n!${nativeFolder(target)}/*\n`);
  return file;
}

/**
 * A fresh staging folder `<dir>/stage` for vsce: package.json, README.md, LICENSE, CHANGELOG.md, media/, models/ copied,
 * node_modules linked, and dist/ a production build (`production`) or the development build's files without maps.
 */
export function stage(dir = DEFAULT_OUT, { production = true } = {}) {
  const s = join(dir, 'stage');
  rmSync(s, { recursive: true, force: true });
  mkdirSync(s, { recursive: true });
  for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md']) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(s, f));
  // the staged manifest without the guard that stops a bare `vsce package` in the repository
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  delete manifest.scripts['vscode:prepublish'];
  writeFileSync(join(s, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const d of ['media', 'models']) cpSync(join(ROOT, d), join(s, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(s, 'node_modules'), 'dir');
  if (production) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--production', `--outdir=${join(s, 'dist')}`], { cwd: ROOT, stdio: 'inherit' });
  } else {
    mkdirSync(join(s, 'dist'));
    for (const f of readdirSync(join(ROOT, 'dist'))) if (!f.endsWith('.map')) cpSync(join(ROOT, 'dist', f), join(s, 'dist', f));
  }
  return s;
}

const vsceOptions = (cwd) => ({ cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });

/**
 * The files vsce would put in the target's package (paths relative to the extension root, sorted), from `vsce ls` in a
 * staging folder (default: a new one with the development build's file names). `base`: ignore rules instead of
 * .vscodeignore (tests).
 */
export async function packageFiles(target, { dir = DEFAULT_OUT, base, staged } = {}) {
  const s = staged ?? stage(dir, { production: false });
  const { stdout } = await promisify(execFile)(process.execPath, [VSCE, 'ls', '--ignoreFile', ignoreFileFor(target, dir, base)], vsceOptions(s));
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** Packs one target from the staging folder `staged` into `dir`; returns the .vsix path. */
export function packageTarget(target, staged, dir = DEFAULT_OUT) {
  const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const vsix = join(dir, `${name}-${target}-${version}.vsix`);
  rmSync(vsix, { force: true });
  const args = ['package', '--target', target, '--ignoreFile', ignoreFileFor(target, dir), '--out', vsix, '--allow-missing-repository', '--no-rewrite-relative-links'];
  execFileSync(process.execPath, [VSCE, ...args], { ...vsceOptions(staged), stdio: ['ignore', 'pipe', 'inherit'] });
  return vsix;
}

const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      out: { type: 'string' },
      list: { type: 'string' },
      'prepublish-guard': { type: 'boolean' },
    },
  });
  if (values['prepublish-guard']) {
    throw new Error('package with `npm run package` (scripts/package.mjs): a bare `vsce package` leaves out the onnxruntime-node binaries');
  }
  if (values.list) {
    console.log((await packageFiles(values.list)).join('\n'));
    return;
  }
  const targets = values.target ?? TARGETS;
  targets.forEach(checkTarget);
  const dir = resolve(values.out ?? DEFAULT_OUT);
  const t0 = Date.now();
  const staged = stage(dir);
  const made = [];
  for (const target of targets) {
    const t = Date.now();
    const vsix = packageTarget(target, staged, dir);
    made.push({ target, vsix, size: statSync(vsix).size, s: (Date.now() - t) / 1000 });
  }
  rmSync(staged, { recursive: true, force: true });
  console.log(`\npackages (${((Date.now() - t0) / 1000).toFixed(0)} s; darwin-x64 not offered: ${NOT_OFFERED['darwin-x64']}):`);
  for (const m of made) console.log(`  ${m.target.padEnd(13)} ${mb(m.size).padStart(8)}  ${relative(process.cwd(), m.vsix)}  (${m.s.toFixed(0)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(`package: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
