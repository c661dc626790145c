#!/usr/bin/env node
// One .vsix per platform with @vscode/vsce --target: a production build (minified, no source maps), then per target
// the files named in .vscodeignore plus that target's onnxruntime-node binaries, nothing else.
//
//   npm run package [-- --target linux-x64 [--target ...]] [--out DIR] [--no-build]
//   node scripts/package.mjs --list TARGET       # the file list vsce would pack (vsce ls), one path a line
//
// Why vsce's dependency mode and not --no-dependencies: with --no-dependencies vsce never looks inside node_modules,
// and onnxruntime-node (a native addon, loaded by a computed path) and the codecs' .wasm files cannot be bundled, so
// they have to ship from node_modules. vsce lists the production dependencies (`npm ls --production`) and
// .vscodeignore's `!` lines pick the few files the code loads; a per-target copy of it (--ignoreFile) adds
// node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>/.
//
// darwin-x64 (Intel Mac) is not offered: onnxruntime-node 1.30 ships no darwin/x64 binaries.
// The production build replaces dist/ while packing; the development build (with source maps) is put back after.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

// HLIP_PACKAGING tells the vscode:prepublish guard that this script runs vsce (a bare `vsce package` would pack no
// native binaries).
const vsceOptions = { cwd: ROOT, env: { ...process.env, HLIP_PACKAGING: '1' }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 };
const vsce = (args) => execFileSync(process.execPath, [VSCE, ...args], { ...vsceOptions, stdio: ['ignore', 'pipe', 'inherit'] });

/**
 * The files vsce would put in the target's package (paths relative to the extension root, sorted), from `vsce ls`.
 * `base`: the ignore rules to use instead of .vscodeignore (tests); `dir`: where the per-target ignore file goes.
 */
export async function packageFiles(target, { dir = DEFAULT_OUT, base } = {}) {
  const { stdout } = await promisify(execFile)(process.execPath, [VSCE, 'ls', '--ignoreFile', ignoreFileFor(target, dir, base)], vsceOptions);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** Builds dist/ (production or development). */
export function build(production) {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), ...(production ? ['--production'] : [])], { cwd: ROOT, stdio: 'inherit' });
}

/** Packs one target into `dir`; returns the .vsix path. dist/ must hold the production build. */
export function packageTarget(target, dir = DEFAULT_OUT) {
  const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const vsix = join(dir, `${name}-${target}-${version}.vsix`);
  rmSync(vsix, { force: true });
  vsce(['package', '--target', target, '--ignoreFile', ignoreFileFor(target, dir), '--out', vsix, '--allow-missing-repository', '--no-rewrite-relative-links']);
  return vsix;
}

const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      out: { type: 'string' },
      list: { type: 'string' },
      'no-build': { type: 'boolean' },
      'prepublish-guard': { type: 'boolean' },
    },
  });
  if (values['prepublish-guard']) {
    if (process.env.HLIP_PACKAGING === '1') return;
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
  if (!values['no-build']) build(true);
  const made = [];
  try {
    for (const target of targets) {
      const t = Date.now();
      const vsix = packageTarget(target, dir);
      made.push({ target, vsix, size: statSync(vsix).size, s: (Date.now() - t) / 1000 });
    }
  } finally {
    if (!values['no-build']) build(false);
  }
  console.log(`\npackages (${((Date.now() - t0) / 1000).toFixed(0)} s; darwin-x64 not offered: ${NOT_OFFERED['darwin-x64']}):`);
  for (const m of made) console.log(`  ${m.target.padEnd(13)} ${mb(m.size).padStart(8)}  ${relative(process.cwd(), m.vsix)}  (${m.s.toFixed(0)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(`package: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
