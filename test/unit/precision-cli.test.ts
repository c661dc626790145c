/**
 * --precision end to end through the real CLI (src/cli/main.ts through tsx, the inference worker in a child process):
 * `hlip import --precision int8` builds the int8 towers once beside the fp32 ones; `hlip classify --precision int8`
 * runs them and says so in its JSON, with scores close to the fp32 run on the same real volume.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeDemoModel } from '../../src/hlip/demo/demo-model';
import type { ClassifyResults } from '../../src/hlip/classify/results';
import { fixture, NIBABEL, ROOT } from '../fixtures';
import { tempDir } from '../oracles';

const tmp = tempDir('precision-cli');
const cache = join(tmp, 'cache');
const hlip = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8' });

test('--precision takes fp32 or int8 only', () => {
  const r = hlip('classify', 'x.nii', '--model', 'm', '--precision', 'bf16');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--precision is one of fp32, int8/);
});

test('import --precision int8 builds the int8 towers beside fp32 once; classify --precision int8 runs them and says so', async (t) => {
  const scan = fixture(t, NIBABEL, 'anatomical.nii');
  if (!scan) return;
  const model = writeDemoModel(join(tmp, 'demo'));
  const imp = hlip('import', model, '--cache', cache, '--json', '--precision', 'int8');
  assert.equal(imp.status, 0, imp.stderr);
  const dir = join(cache, JSON.parse(imp.stdout).id);
  const files = readdirSync(dir);
  for (const f of ['visual.onnx', 'visual.int8.onnx', 'text.onnx', 'text.int8.onnx']) assert.ok(files.includes(f), `${f} in ${files}`);
  assert.ok(!files.some((f) => f.startsWith('.tmp')), 'no temporary folder left');
  const built = statSync(join(dir, 'visual.int8.onnx')).mtimeMs;
  // Measured against fp32 when built, on the probe scan.
  const check = JSON.parse(readFileSync(join(dir, 'visual.int8.check.json'), 'utf8')) as { cosine: number; bound: number };
  console.log(`precision-cli: int8 vs fp32 image embedding cosine on the probe (demo model): ${check.cosine.toFixed(5)}`);
  assert.ok(check.cosine > 0.9 && check.cosine <= 1 + 1e-6, `probe cosine ${check.cosine}`);

  const run = (precision: string): ClassifyResults => {
    const r = hlip('classify', scan, '--model', model, '--cache', cache, '--json', '--precision', precision);
    assert.equal(r.status, 0, r.stderr);
    // A model whose int8 tower measured below the bound says so on every run.
    assert.equal(/measured cosine .* against fp32/.test(r.stderr), precision === 'int8' && check.cosine < check.bound, r.stderr);
    return JSON.parse(r.stdout) as ClassifyResults;
  };
  const [f, q] = [run('fp32'), run('int8')];
  assert.equal(f.precision, 'fp32');
  assert.equal(q.precision, 'int8');
  assert.equal(statSync(join(dir, 'visual.int8.onnx')).mtimeMs, built, 'converted once, then reused');
  // Same diagnoses scored; int8 moves the demo model's cosine scores only slightly.
  const fp = new Map(f.sets[0].rows.map((r) => [r.className, r.score]));
  const worst = Math.max(...q.sets[0].rows.map((r) => Math.abs(r.score - fp.get(r.className)!)));
  console.log(`precision-cli: largest MRI score change int8 vs fp32 on anatomical.nii (demo model): ${worst.toExponential(1)}`);
  assert.ok(worst < 0.02, `largest score change ${worst}`);
  assert.ok(existsSync(join(dir, 'visual.int8.onnx.data')));
});
