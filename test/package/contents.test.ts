/**
 * Every target's package (its `vsce ls` file list under .vscodeignore + the target's native folder) holds every file
 * the code loads at run time (test/package/runtime-files.ts) and nothing that must not ship (sources, tests, maps,
 * other targets' binaries). A variant of .vscodeignore missing one line shows the check can fail.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, requiredFor, runtimeFiles, unwanted } from './runtime-files';

const pkg = import('../../scripts/package.mjs');
const dir = mkdtempSync(join(tmpdir(), 'hlip-package-lists-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('each target carries what the code loads at run time, and only its own native binaries', { timeout: 300_000 }, async (t) => {
  const { TARGETS, packageFiles, stage } = await pkg;
  const needs = runtimeFiles();
  t.diagnostic(`runtime files: ${needs.common.length} common + native folders ${needs.nativeRoots.join(', ')}`);
  assert.ok(needs.common.includes('node_modules/@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm'), 'the J2K codec is found from wasm.ts');
  assert.ok(needs.common.includes('node_modules/onnxruntime-common/dist/cjs/package.json'), 'the nested "type": "commonjs" scope is found');
  assert.ok(needs.nativeRoots.length > 0, 'onnxruntime-node is external and native');

  const staged = stage(dir, { production: false });
  const lists = await Promise.all(TARGETS.map((target) => packageFiles(target, { dir, staged })));
  TARGETS.forEach((target, i) => {
    const files = lists[i];
    const have = new Set(files);
    const missing = requiredFor(target, needs).filter((f) => !have.has(f));
    assert.deepEqual(missing, [], `${target}: files the code loads are missing from the package`);
    assert.deepEqual(unwanted(target, files, needs), [], `${target}: files that must not ship`);
    t.diagnostic(`${target}: ${files.length} files, complete`);
  });
});

test('the check fails when a runtime file is left out', { timeout: 120_000 }, async () => {
  const { packageFiles } = await pkg;
  const needs = runtimeFiles();
  const base = readFileSync(join(ROOT, '.vscodeignore'), 'utf8').replace(/^!node_modules\/@cornerstonejs\/codec-\*\/dist\/\*_decode\.wasm$/m, '');
  const files = new Set(await packageFiles('linux-x64', { dir, base }));
  const missing = requiredFor('linux-x64', needs).filter((f) => !files.has(f));
  assert.ok(missing.includes('node_modules/@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm'), missing.join(', '));
});
