/**
 * The classification pipeline end to end (the one the editor and the CLI share): real volumes -> HLIP pre-processing ->
 * the converted demo model in onnxruntime-node -> zero-shot scores -> maps back on each scan's grid. A 1-scan and an
 * 8-scan study; localisers left out; scan order and the permutation symmetry of a model without sequence embedding.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scanMap, tokenValues } from '../../src/hlip/classify/maps';
import { type LoadedModel, classifyStudy, openModel, selectScans } from '../../src/hlip/classify/study-classifier';
import { writeDemoModel } from '../../src/hlip/demo/demo-model';
import { zeroShotSet } from '../../src/hlip/classify/zero-shot';
import { HlipEngine } from '../../src/hlip/inference/engine';
import { convertModel } from '../../src/hlip/convert/model-converter';
import { ModelCatalogue } from '../../src/hlip/models/model-catalogue';
import { openStudy } from '../../src/volume/open';
import { NIBABEL, ROOT, SYSTEM_PYTHON } from '../fixtures';
import { tempDir } from '../oracles';
import { execFileSync } from 'node:child_process';

let engine: HlipEngine;
let model: LoadedModel;
const tmp = tempDir('classify');

before(async () => {
  engine = await HlipEngine.start({ workerScript: join(ROOT, 'src', 'hlip', 'inference', 'inference-worker.ts'), providers: ['cpu'] });
  const store = new ModelCatalogue(join(tmp, 'cache'));
  const entry = await convertModel(store, writeDemoModel(join(tmp, 'demo')), { engine });
  await engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
  model = openModel(store, entry);
});
after(() => engine?.dispose());

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);

test('a 1-scan MRI: 74 ranked diagnoses, Pub-Brain-5 probabilities, CLS attention mapped onto the scan', async () => {
  const study = await openStudy(join(NIBABEL, 'anatomical.nii'));
  const c = await classifyStudy(study.volumes, model, engine);
  const r = c.results;
  assert.equal(r.protocol, 'mri');
  assert.equal(r.model.untrained, true);
  assert.deepEqual(r.sets.map((s) => [s.name, s.rows.length]), [['mri', 74], ['pubbrain5', 5]]);
  assert.ok(Math.abs(r.sets[1].rows.reduce((a, x) => a + x.score, 0) - 1) < 1e-5);
  const L = c.grid[0] * c.grid[1] * c.grid[2];
  assert.deepEqual(c.grid, [8, 14, 14]);
  assert.deepEqual(c.clsAttn.dims, [1, 4, c.prefix + L]);
  assert.ok(Math.abs(Math.hypot(...c.embedding) - 1) < 1e-5);

  const vol = study.volumes[0];
  const attn = await tokenValues(c, { kind: 'cls' }, model, engine);
  const map = scanMap(c, attn, 0, vol);
  assert.equal(map.length, vol.voxelsPerFrame);
  assert.ok(map.some((v) => v > 0), 'the map lands on the scan');
  const glioma = await tokenValues(c, { kind: 'diagnosis', set: 'mri', className: 'glioma' }, model, engine);
  assert.equal(glioma.length, L);
  // Patch i's value is patch_proj[i] . t_glioma, with t the class embedding scoring used.
  const E = c.embedding.length, k = zeroShotSet('mri').classnames.indexOf('glioma');
  const t = model.classEmbeddings.get('mri')!.subarray(k * E, (k + 1) * E);
  for (const i of [0, 777, L - 1]) {
    const want = c.patchProj!.data.subarray(i * E, (i + 1) * E).reduce((a, x, j) => a + x * t[j], 0);
    assert.ok(Math.abs(glioma[i] - want) < 1e-5, `patch ${i}: ${glioma[i]} vs ${want}`);
  }
  assert.ok(glioma.some((v) => v !== glioma[0]), 'the map varies over the scan');
});

test('an 8-scan study: every scan in the study order, T = prefix + 8 x tokens, order-free without sequence embedding', async () => {
  const dir = join(tmp, 'study8');
  mkdirSync(dir, { recursive: true });
  const names = ['anatomical.nii', 'example4d.nii.gz', 'reoriented_anat_moved.nii'];
  for (const n of names) copyFileSync(join(NIBABEL, n), join(dir, n));
  for (let i = 0; i < 5; i++) {
    // make_phantom.py also writes a label map beside the phantom: keep only the phantom.
    execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_phantom.py'), join(tmp, `phantom${i}.nii.gz`), String(24 + 8 * i)]);
    copyFileSync(join(tmp, `phantom${i}.nii.gz`), join(dir, `phantom${i}.nii.gz`));
  }
  copyFileSync(join(NIBABEL, 'resampled_anat_moved.nii'), join(dir, 'zz-thin.nii')); // 3 slices: not a 3D scan
  const study = await openStudy(dir);
  const picked = selectScans(study.volumes, 40);
  assert.equal(picked.volumes.length, 8);
  assert.ok(picked.warnings.some((w) => /zz-thin.*not a 3D scan/.test(w)), picked.warnings.join('; '));

  const c = await classifyStudy(study.volumes, model, engine);
  const L = c.grid[0] * c.grid[1] * c.grid[2];
  assert.equal(c.results.scans.length, 8);
  assert.deepEqual(c.results.scans.map((s) => s.volumeIndex), picked.indices);
  assert.equal(c.clsAttn.dims[2], c.prefix + 8 * L);
  assert.deepEqual(c.input.shape, [1, 8, 1, 48, 224, 224]);
  const last = study.volumes[picked.indices[7]];
  assert.equal(scanMap(c, await tokenValues(c, { kind: 'cls' }, model, engine), 7, last).length, last.voxelsPerFrame);

  // The demo model has no per-scan sequence embedding: study attention and the CLS average are symmetric in the scans.
  const reversed = await classifyStudy([...picked.volumes].reverse(), model, engine);
  assert.ok(cosine(reversed.embedding, c.embedding) > 0.99999, `reordering the scans changed the embedding (${cosine(reversed.embedding, c.embedding)})`);
});

test('a study larger than the model takes is cut to its first volumes, with a note', async () => {
  const study = await openStudy(join(NIBABEL, 'anatomical.nii'));
  const v = study.volumes[0];
  const picked = selectScans([v, v, v], 2);
  assert.deepEqual(picked.indices, [0, 1]);
  assert.match(picked.warnings.join(' '), /at most 2 volumes.*first 2 of 3/);
  assert.throws(() => selectScans([], 2), /No 3D scan/);
});
