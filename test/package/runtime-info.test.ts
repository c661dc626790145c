/**
 * `hlip runtime` (what "HLIP: Show Runtime Info" runs in a child process): every provider probed with the real
 * onnxruntime-node on this machine, the requested order resolved against what loads, the cache folder measured.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RuntimeInfo } from '../../src/hlip/inference/runtime-report';
import { formatRuntimeInfo } from '../../src/hlip/inference/runtime-report';
import { ROOT } from './runtime-files';

const runtime = (...args: string[]) =>
  JSON.parse(execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'runtime', '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as RuntimeInfo;

test('hlip runtime: providers probed, the first requested one that loads is in use, the others say why', { timeout: 120_000 }, () => {
  const cache = mkdtempSync(join(tmpdir(), 'hlip-runtime-'));
  try {
    mkdirSync(join(cache, 'some-model'));
    writeFileSync(join(cache, 'some-model', 'visual.onnx'), Buffer.alloc(3000));
    const r = runtime('--ep', 'tensorrt,nosuch,cpu', '--cache', cache);
    assert.match(r.onnxruntime, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(r.requested, ['tensorrt', 'nosuch', 'cpu']);
    const cpu = r.providers.find((p) => p.name === 'cpu')!;
    assert.ok(cpu.built && cpu.loads, 'cpu always loads');
    for (const name of ['cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'nosuch']) assert.ok(r.providers.some((p) => p.name === name), name);
    // the providers skipped before the one in use each carry their reason
    assert.equal(r.skipped.length, r.requested.indexOf(r.inUse));
    for (const s of r.skipped) assert.ok(s.why.length > 10, `${s.name}: ${s.why}`);
    assert.match(r.skipped.find((s) => s.name === 'nosuch')?.why ?? '', /not built into onnxruntime-node/);
    assert.equal(r.cache?.bytes, 3000);
    assert.equal(r.cache?.dir, cache);
    const text = formatRuntimeInfo(r);
    assert.match(text, new RegExp(`In use: ${r.inUse}`));
    assert.match(text, /Model cache: `[^`]+`, 3 KB in 0 converted model/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
