/**
 * `hlip embed`, run as a child process as a user would: files numpy can load with the documented shapes, values equal
 * to the PyTorch reference (tools/hlip_ref fixtures in .cache/hlip-ref) for ready tensors and equal to classifyStudy
 * for a study, clear failures for wrong inputs and unsupported models.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { detectModelSpec, loadCheckpoint, writeSafetensors } from '../../src/hlip/checkpoint';
import { classifyStudy, openModel } from '../../src/hlip/classify/study-classifier';
import { HlipEngine } from '../../src/hlip/inference/engine';
import { convertModel } from '../../src/hlip/convert/model-converter';
import { ModelCatalogue } from '../../src/hlip/models/model-catalogue';
import { readNpy, writeNpy } from '../../src/hlip/export/npy';
import { openStudy } from '../../src/volume/open';
import { ROOT, SYSTEM_PYTHON, fixture } from '../fixtures';
import { numpyView, tempDir } from '../oracles';

const REF = join(ROOT, '.cache', 'hlip-ref');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const work = tempDir('embed');
const cache = join(work, 'cache'); // shared by every run here: each model is converted once
after(() => rmSync(work, { recursive: true, force: true }));

interface Run { status: number; stdout: string; stderr: string }
/** The CLI in a child process (async, so independent runs can overlap). */
const hlip = (...args: string[]) =>
  new Promise<Run>((res) => {
    execFile(process.execPath, ['--conditions=import', '--import', 'tsx', MAIN, ...args, '--cache', cache, '--ep', 'cpu'], { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });


const f32 = (p: string) => {
  const a = readNpy(p);
  assert.equal(a.dtype, 'float32', p);
  return { data: a.data as Float32Array, shape: a.shape };
};
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] ** 2; bb += b[i] ** 2; }
  return ab / Math.sqrt(aa * bb);
};

interface CaseJson { P: number; L: number; heads: number; num_scans: number[]; unsupported: string | null; visual: { pool: string; proj_dim: number } | null }
const caseJson = (c: string): CaseJson => JSON.parse(readFileSync(join(REF, c, 'case.json'), 'utf8'));

/**
 * Runs `embed --input input_N.npy` for a reference case and checks the files (numpy view, documented shapes) and the
 * values against the PyTorch reference: embedding cosine >= 0.9999, CLS attention per head within 1e-4.
 */
async function checkAgainstReference(name: string, ckpt: string, N: number, figures: string[]): Promise<void> {
  const caseDir = join(REF, name);
  const c = caseJson(name);
  const out = join(work, `${name}-${N}-${ckpt.length}`);
  const r = await hlip('embed', '--model', ckpt, '--input', join(caseDir, `input_${N}.npy`), '--out', out, '--quiet');
  assert.equal(r.status, 0, `${name} N=${N}: ${r.stderr}`);
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  const T = c.P + N * c.L;
  const E = c.visual!.proj_dim;
  assert.equal(meta.tokens.totalTokens, T, `${name}: T = prefix + scans x tokens per scan`);
  assert.equal(meta.tokens.prefixTokens, c.P);
  assert.equal(meta.tokens.tokensPerScan, c.L);
  assert.equal(meta.tokens.scans, N);
  const want: Record<string, number[]> = {
    'embedding.npy': [1, E], 'embedding_raw.npy': [1, E], 'cls_attention.npy': [1, T], 'cls_attention_heads.npy': [1, c.heads, T],
  };
  if (c.visual!.pool === 'dinotxt') want['patch_proj.npy'] = [1, N * c.L, E];
  assert.deepEqual(Object.keys(meta.files).sort(), Object.keys(want).sort(), 'no input.npy for --input; patch_proj only for DINO.txt');
  const np = numpyView(out, Object.keys(want));
  for (const [f, shape] of Object.entries(want)) assert.deepEqual(np[f], { version: [1, 0], shape, dtype: '<f4', fortran: false, finite: true }, `${name} ${f}`);

  const emb = f32(join(out, 'embedding.npy')).data;
  const refEmb = f32(join(caseDir, `expected_${N}_embedding.npy`)).data.subarray(0, E); // [1, P, E]: CLS row
  const cos = cosine(emb, refEmb);
  assert.ok(cos >= 0.9999, `${name} N=${N}: cosine ${cos}`);
  const raw = f32(join(out, 'embedding_raw.npy')).data;
  const refRaw = f32(join(caseDir, `expected_${N}_embedding_raw.npy`)).data.subarray(0, E);
  assert.ok(cosine(raw, refRaw) >= 0.9999, `${name}: raw embedding`);
  const heads = f32(join(out, 'cls_attention_heads.npy')).data;
  const attnDiff = maxAbs(heads, f32(join(caseDir, `expected_${N}_cls_attn.npy`)).data);
  assert.ok(attnDiff <= 1e-4, `${name} N=${N}: cls attention differs by ${attnDiff}`);
  const mean = f32(join(out, 'cls_attention.npy')).data;
  for (let i = 0; i < T; i++) {
    let s = 0;
    for (let h = 0; h < c.heads; h++) s += heads[h * T + i];
    assert.ok(Math.abs(mean[i] - s / c.heads) < 1e-6, 'cls_attention is the mean over heads');
  }
  let rowSum = 0;
  for (const v of mean) rowSum += v;
  assert.ok(Math.abs(rowSum - 1) < 1e-4, 'the CLS row covers every token (softmax sums to 1)');
  if (c.visual!.pool === 'dinotxt') {
    const d = maxAbs(f32(join(out, 'patch_proj.npy')).data, f32(join(caseDir, `expected_${N}_patch_proj.npy`)).data);
    assert.ok(d <= 1e-4, `${name}: patch_proj differs by ${d}`);
  }
  figures.push(`${name} N=${N}: 1-cos ${(1 - cos).toExponential(1)}, attn ${attnDiff.toExponential(1)}`);
}

const FULL = 'vit_base_multiscan_h2_dinotxt1568';
const fullCkpt = join(REF, FULL, 'model.safetensors');
const figures: string[] = [];
after(() => figures.forEach((f) => console.log(`embed ${f}`)));

test('--input with 1, 3 and 8 scans: files numpy reads as documented, values equal the PyTorch reference', async (t) => {
  if (!fixture(t, fullCkpt)) return;
  await checkAgainstReference(FULL, fullCkpt, 1, figures); // converts (with class embeddings) once for the file
  await Promise.all([3, 8].map((N) => checkAgainstReference(FULL, fullCkpt, N, figures)));
});

test('a study gives the numbers classifyStudy gives in-process, and input.npy / meta.json describe it', async (t) => {
  if (!fixture(t, fullCkpt)) return;
  // Two MRI scans of different shapes and spacings, written by nibabel.
  const study = join(work, 'study');
  mkdirSync(study, { recursive: true });
  execFileSync(SYSTEM_PYTHON, ['-c', `
import sys, numpy as np, nibabel as nib
rng = np.random.default_rng(7)
for name, shape, zooms in (('a_t1.nii.gz', (40, 36, 20), (1, 1, 3)), ('b_flair.nii', (30, 32, 24), (1.2, 1.1, 2))):
    a = rng.normal(100, 30, shape).astype(np.float32)
    a[10:20, 10:20, 5:10] += 200
    img = nib.Nifti1Image(a, np.diag([*zooms, 1]))
    nib.save(img, sys.argv[1] + '/' + name)`, study]);
  const out = join(work, 'study-out');
  const r = await hlip('embed', study, '--model', fullCkpt, '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(r.stdout);
  assert.deepEqual(meta, JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')));

  // The same study through the editor's pipeline, in this process, on the model the CLI converted.
  const engine = await HlipEngine.start({ workerScript: join(ROOT, 'src', 'hlip', 'inference', 'inference-worker.ts'), providers: ['cpu'] });
  try {
    const store = new ModelCatalogue(cache);
    const entry = await convertModel(store, fullCkpt, { engine });
    await engine.load({ visualPath: entry.visualPath });
    const s = await openStudy(study, { wholeSeries: true });
    const c = await classifyStudy(s.volumes, openModel(store, entry), engine);
    const N = c.input.shape[1];
    assert.equal(N, 2);
    const files = ['embedding.npy', 'embedding_raw.npy', 'cls_attention.npy', 'cls_attention_heads.npy', 'patch_proj.npy', 'input.npy'];
    assert.deepEqual(Object.keys(meta.files).sort(), [...files].sort());
    const np = numpyView(out, files);
    const [, , , D, H, W] = c.input.shape;
    assert.deepEqual(np['input.npy'].shape, [1, 2, 1, D, H, W]);
    for (const f of files) assert.equal(np[f].dtype, '<f4', f);

    assert.deepEqual(f32(join(out, 'input.npy')).data, c.input.data, 'the same pre-processing');
    assert.ok(maxAbs(f32(join(out, 'embedding.npy')).data, c.embedding) <= 1e-6);
    assert.ok(maxAbs(f32(join(out, 'embedding_raw.npy')).data, c.embeddingRaw) <= 1e-5);
    assert.ok(maxAbs(f32(join(out, 'cls_attention_heads.npy')).data, c.clsAttn.data) <= 1e-6);
    assert.ok(maxAbs(f32(join(out, 'patch_proj.npy')).data, c.patchProj!.data) <= 1e-5);
    assert.deepEqual(f32(join(out, 'cls_attention_heads.npy')).shape, c.clsAttn.dims);
    assert.equal(meta.tokens.totalTokens, c.prefix + N * c.grid[0] * c.grid[1] * c.grid[2]);
    assert.deepEqual(meta.tokens.grid, c.grid);
    assert.deepEqual(meta.scans.map((x: { name: string; volumeIndex: number }) => [x.name, x.volumeIndex]), c.scans.map((x) => [x.name, x.volumeIndex]));
    assert.equal(meta.protocol, 'mri');
    assert.equal(meta.provider, 'cpu');
    assert.equal(meta.model.variant, FULL);
    assert.deepEqual(meta.model.visual.imgSize, [D, H, W]);
  } finally {
    await engine.dispose();
  }
});

test('a wrong --input fails at once with what is wrong, exit 1, no stack', async (t) => {
  if (!fixture(t, fullCkpt)) return;
  const good = readNpy(join(REF, FULL, 'input_1.npy'));
  const [, , , D, H, W] = good.shape;
  const bad = (name: string, data: Float32Array | BigInt64Array, shape: number[]) => {
    const p = join(work, name);
    writeNpy(p, data, shape);
    return p;
  };
  const cases: [string, RegExp][] = [
    [bad('depth.npy', new Float32Array(2 * 1 * (D + 1) * H * W), [1, 2, 1, D + 1, H, W]), new RegExp(`scan size ${D + 1} x ${H} x ${W} is not ${D} x ${H} x ${W}`)],
    [bad('five-d.npy', new Float32Array(D * H * W), [1, 1, D, H, W]), /has 5 axes.*add a leading batch axis/],
    [bad('batch.npy', new Float32Array(2 * D * H * W), [2, 1, 1, D, H, W]), /batch is 2/],
    [bad('scans.npy', new Float32Array(41 * D * H * W), [1, 41, 1, D, H, W]), /41 scans, the model's sequence embedding has 40/],
    [bad('int.npy', new BigInt64Array(D * H * W), [1, 1, 1, D, H, W]), /dtype int64, the encoder takes float32/],
    [join(work, 'missing.npy'), /--input .*missing\.npy/],
  ];
  await Promise.all(cases.map(async ([path, re]) => {
    const r = await hlip('embed', '--model', fullCkpt, '--input', path, '--out', join(work, 'bad-out'));
    assert.equal(r.status, 1, `${path}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /\[BAD_INPUT\]/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
  }));
  assert.ok(!existsSync(join(work, 'bad-out', 'embedding.npy')), 'nothing written');
  const usage = await hlip('embed', join(work, 'x'), '--model', fullCkpt, '--input', join(REF, FULL, 'input_1.npy'), '--out', join(work, 'u'));
  assert.equal(usage.status, 2, 'a study and --input together is a usage error');
});

test('a visual-only checkpoint (visual.* keys only) embeds like the reference, 1 and 3 scans', async (t) => {
  const ckpt = join(REF, 'visual-only', 'model.safetensors');
  if (!fixture(t, ckpt)) return;
  await checkAgainstReference('visual-only', ckpt, 1, figures);
  await checkAgainstReference('visual-only', ckpt, 3, figures);
  const meta = JSON.parse(readFileSync(join(work, `visual-only-3-${ckpt.length}`, 'meta.json'), 'utf8'));
  assert.equal(meta.model.hasTextTower, false);
});

test('every variant embeds like the reference (--input input_1.npy; the 3D RoPE one also with 3 scans)', async (t) => {
  const index = join(REF, 'index.json');
  if (!fixture(t, index)) return;
  const cases = (JSON.parse(readFileSync(index, 'utf8')) as { cases: { case: string; checkpoint_keys: string; unsupported: string | null }[] }).cases;
  const variants = cases.filter((c) => c.checkpoint_keys === 'full');
  assert.ok(variants.length >= 10);
  // The image tower of each checkpoint alone (visual.* keys + its open_clip config): the full checkpoints would also
  // embed ~3000 zero-shot prompts at conversion, which tests nothing here and costs ~30 s each.
  const jobs = await Promise.all(variants.map(async (c) => {
    const dir = join(work, 'variants', c.case);
    mkdirSync(dir, { recursive: true });
    const ck = await loadCheckpoint(join(REF, c.case, 'model.safetensors'));
    writeSafetensors(join(dir, 'model.safetensors'), new Map([...ck.tensors].filter(([k]) => k.startsWith('visual.'))));
    copyFileSync(join(REF, c.case, 'open_clip_config.json'), join(dir, 'open_clip_config.json'));
    assert.ok(detectModelSpec(await loadCheckpoint(dir)).visual, c.case);
    return { c, ckpt: join(dir, 'model.safetensors') };
  }));
  assert.deepEqual(jobs.filter((j) => j.c.unsupported).map((j) => j.c.case), [], 'the reference covers every variant');
  // A few at a time: each run is a node process plus an inference worker.
  for (let i = 0; i < jobs.length; i += 4) {
    await Promise.all(jobs.slice(i, i + 4).map((j) => checkAgainstReference(j.c.case, j.ckpt, 1, figures)));
  }
  const rope = jobs.filter((j) => j.c.case.startsWith('ablate_rope_'));
  assert.equal(rope.length, 1);
  for (const j of rope) {
    // 3 scans: the study-level blocks give every scan the same RoPE positions.
    await checkAgainstReference(j.c.case, j.ckpt, 3, figures);
    const meta = JSON.parse(readFileSync(join(work, `${j.c.case}-3-${j.ckpt.length}`, 'meta.json'), 'utf8'));
    assert.equal(meta.model.visual.rope, true, 'meta.json says the model uses RoPE');
  }
});
