/**
 * HLIP pre-processing (src/hlip/preprocess/study-input.ts) against tools/hlip_ref/preprocess_ref.py (numpy / nibabel / pydicom /
 * torch F.interpolate, following HLIP's scripts) on real volumes and phantoms of several orientations; the RPI array
 * convention checked on the asymmetric phantom; the model-grid -> volume mapping; errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { NIBABEL, PYDICOM, ROOT, SYSTEM_PYTHON } from '../fixtures';
import { makeSeries, tempDir } from '../oracles';
import { DEFAULT_HEAD_CT_WINDOWS, type PreprocessResult, type Protocol, type Quantize, NORM_MEAN, NORM_STD, modelGridToVolume, preprocessStudy } from '../../src/hlip/preprocess/study-input';
import { apply4 } from '../../src/shared/geometry';
import { openStudy } from '../../src/volume/open';
import { Volume } from '../../src/volume/volume';

const REF = join(ROOT, 'tools', 'hlip_ref', 'preprocess_ref.py');
const ref = (...args: string[]) => execFileSync(SYSTEM_PYTHON, [REF, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

interface Case {
  name: string;
  inputs: string[]; // NIfTI paths or dicom:DIR
  protocol: Protocol;
  quantize?: Quantize;
}

const dir = tempDir('prep');
const phantoms: Record<string, string[]> = {
  axialLPS: ['--code', 'LPS', '--dims', '40', '48', '24', '--spacing', '1', '1', '3'],
  sagittalASL: ['--code', 'ASL', '--dims', '40', '36', '20', '--spacing', '1', '1.2', '3.5'], // x -> depth
  coronalRSP: ['--code', 'RSP', '--dims', '36', '30', '22', '--spacing', '0.9', '1', '4'], // y -> depth
  obliqueFloat: ['--code', 'LAS', '--dims', '30', '34', '26', '--spacing', '1.1', '1', '2', '--dtype', 'float32', '--oblique', '10'],
  scaledRAS: ['--code', 'RAS', '--dims', '28', '32', '30', '--spacing', '1', '1', '1', '--scale', '2', '-100'],
  uint8PIR: ['--code', 'PIR', '--dims', '32', '26', '30', '--spacing', '2', '1', '1', '--dtype', 'uint8'],
  wideCT: ['--code', 'LPS', '--dims', '380', '24', '12', '--spacing', '1', '1', '3'], // chest: W cropped, D/H padded
};
const ph = (k: string) => join(dir, `${k}.nii.gz`);

// Real files; the fixtures are required under CI (fetch-fixtures.sh), skipped with a note elsewhere.
const anat = join(NIBABEL, 'anatomical.nii');
const ex4d = join(NIBABEL, 'example4d.nii.gz');
const nifti2 = join(NIBABEL, 'example_nifti2.nii.gz');
const haveFixtures = existsSync(anat);
const mrPair = join(dir, 'mr-pair'); // nibabel's 0.dcm + 1.dcm: a real two-slice MR series
const ctSmall = join(dir, 'ct-small'); // pydicom's CT_small.dcm: one real CT slice
const ctSeries = join(dir, 'ct-series'); // anatomical.nii written as a CT series by pydicom

const cases: Case[] = [];
const results = new Map<string, { want: Float32Array; shape: number[] }>();

before(() => {
  if (!haveFixtures && process.env.CI === 'true') throw new Error('fixtures missing (run npm run fixtures)');
  for (const [k, args] of Object.entries(phantoms)) ref('phantom', ph(k), ...args);
  for (const k of ['axialLPS', 'sagittalASL', 'coronalRSP', 'obliqueFloat', 'scaledRAS', 'uint8PIR']) cases.push({ name: `phantom ${k}`, inputs: [ph(k)], protocol: 'mri' });
  cases.push({ name: 'phantom study of 3 (mri)', inputs: [ph('axialLPS'), ph('sagittalASL'), ph('coronalRSP')], protocol: 'mri' });
  cases.push({ name: 'phantom obliqueFloat, round', inputs: [ph('obliqueFloat')], protocol: 'mri', quantize: 'round' });
  cases.push({ name: 'phantom scaledRAS, no uint8', inputs: [ph('scaledRAS')], protocol: 'mri', quantize: 'none' });
  cases.push({ name: 'phantom wideCT (chest)', inputs: [ph('wideCT')], protocol: 'chest-ct' });
  cases.push({ name: 'phantom scaledRAS (head CT)', inputs: [ph('scaledRAS')], protocol: 'head-ct' });
  if (haveFixtures) {
    mkdirSync(mrPair);
    for (const f of ['0.dcm', '1.dcm']) copyFileSync(join(NIBABEL, f), join(mrPair, f));
    mkdirSync(ctSmall);
    copyFileSync(join(PYDICOM, 'CT_small.dcm'), join(ctSmall, 'CT_small.dcm'));
    makeSeries(ctSeries, '--from', anat, '--modality', 'CT', '--scramble');
    cases.push(
      { name: 'anatomical.nii', inputs: [anat], protocol: 'mri' },
      { name: 'example4d.nii.gz frame 0', inputs: [ex4d], protocol: 'mri' },
      { name: 'example_nifti2.nii.gz', inputs: [nifti2], protocol: 'mri' },
      { name: 'anatomical.nii, no uint8', inputs: [anat], protocol: 'mri', quantize: 'none' },
      { name: 'MR DICOM pair (nibabel 0.dcm, 1.dcm)', inputs: [`dicom:${mrPair}`], protocol: 'mri' },
      { name: 'CT DICOM series (head CT)', inputs: [`dicom:${ctSeries}`], protocol: 'head-ct' },
      { name: 'CT DICOM series (chest CT)', inputs: [`dicom:${ctSeries}`], protocol: 'chest-ct' },
      { name: 'CT_small.dcm (head CT)', inputs: [`dicom:${ctSmall}`], protocol: 'head-ct' },
      { name: 'CT_small.dcm (chest CT)', inputs: [`dicom:${ctSmall}`], protocol: 'chest-ct' },
    );
  }
  const jobs = cases.map((c, i) => ({
    inputs: c.inputs,
    protocol: c.protocol,
    quantize: c.quantize ?? 'trunc',
    windows: DEFAULT_HEAD_CT_WINDOWS.map((w) => [w.name, w.center, w.width]),
    out: join(dir, `ref${i}`),
  }));
  writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs));
  ref('jobs', join(dir, 'jobs.json'));
  cases.forEach((c, i) => {
    const buf = readFileSync(join(dir, `ref${i}.f32`));
    const meta = JSON.parse(readFileSync(join(dir, `ref${i}.json`), 'utf8')) as { shape: number[]; mean: number; std: number };
    assert.equal(meta.mean, NORM_MEAN, 'torch mean of IMAGENET_DEFAULT_MEAN');
    assert.equal(meta.std, NORM_STD, 'torch mean of IMAGENET_DEFAULT_STD');
    results.set(c.name, { want: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), shape: meta.shape });
  });
});

async function volumesOf(inputs: string[]): Promise<Volume[]> {
  const out: Volume[] = [];
  for (const p of inputs) out.push(...(await openStudy(p.startsWith('dicom:') ? p.slice(6) : p)).volumes);
  return out;
}

const QUANTUM = 1 / 255 / NORM_STD; // one uint8 step after normalisation

describe('parity with tools/hlip_ref/preprocess_ref.py', () => {
  // Test bodies read the cases filled in by before(), so they are generated from the static list of names.
  const names = [
    ...['axialLPS', 'sagittalASL', 'coronalRSP', 'obliqueFloat', 'scaledRAS', 'uint8PIR'].map((k) => `phantom ${k}`),
    'phantom study of 3 (mri)', 'phantom obliqueFloat, round', 'phantom scaledRAS, no uint8', 'phantom wideCT (chest)', 'phantom scaledRAS (head CT)',
    'anatomical.nii', 'example4d.nii.gz frame 0', 'example_nifti2.nii.gz', 'anatomical.nii, no uint8', 'MR DICOM pair (nibabel 0.dcm, 1.dcm)',
    'CT DICOM series (head CT)', 'CT DICOM series (chest CT)', 'CT_small.dcm (head CT)', 'CT_small.dcm (chest CT)',
  ];
  for (const name of names) {
    test(name, async (t) => {
      const c = cases.find((x) => x.name === name);
      if (!c) return t.skip('fixture missing (run npm run fixtures)');
      const r = results.get(name)!;
      const got = preprocessStudy(await volumesOf(c.inputs), c.protocol, { quantize: c.quantize });
      assert.deepEqual(got.shape, r.shape);
      let max = 0, ties = 0;
      for (let i = 0; i < r.want.length; i++) {
        const d = Math.abs(r.want[i] - got.data[i]);
        if (!(d <= max)) max = d; // NaN propagates into max and fails below
        if (d > 1e-5) ties++;
      }
      t.diagnostic(`max |diff| ${max.toExponential(2)}; ${ties} of ${r.want.length} values over 1e-5`);
      // Differences come from float32 rounding (~1e-6) or, at most, one uint8 step where a value sits on a boundary.
      assert.ok(max <= QUANTUM * 1.001, `max diff ${max}`);
      assert.ok(ties <= r.want.length * 1e-4, `${ties} values differ by more than 1e-5`);
    });
  }
});

/** Mean model index (d, h, w) of the voxels of one scan whose value lies in [lo, hi] (before normalisation). */
function centroid(r: PreprocessResult, scan: number, lo: number, hi: number): [number, number, number] {
  const [, , , D, H, W] = r.shape;
  const base = scan * D * H * W;
  const s = [0, 0, 0];
  let n = 0;
  for (let d = 0; d < D; d++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const x = r.data[base + (d * H + h) * W + w] * NORM_STD + NORM_MEAN;
        if (x >= lo && x <= hi) {
          s[0] += d;
          s[1] += h;
          s[2] += w;
          n++;
        }
      }
  assert.ok(n > 0, 'no voxel in the value band');
  return [s[0] / n, s[1] / n, s[2] / n];
}

describe('RPI array order (phantom: S-block 3000, A-block 2000, R-block 1000)', () => {
  test('axial: slice 0 superior, row 0 anterior, column 0 patient-left', async () => {
    const [v] = await volumesOf([ph('axialLPS')]);
    const r = preprocessStudy([v], 'mri', { quantize: 'none' });
    const [D, H, W] = [48, 224, 224];
    // After min-max the blocks sit near 1 (S), 2/3 (A), 1/3 (R) of the clipped range.
    const s = centroid(r, 0, 0.95, 1.01), a = centroid(r, 0, 0.6, 0.7), rr = centroid(r, 0, 0.3, 0.36);
    assert.ok(s[0] < D / 3, `S-block at depth ${s[0]}`);
    assert.ok(a[1] < H / 3, `A-block at row ${a[1]}`);
    assert.ok(rr[2] > (2 * W) / 3, `R-block at column ${rr[2]}`);
  });
  test('sagittal acquisition (largest spacing along L-R): depth runs toward the Right', async () => {
    const [v] = await volumesOf([ph('sagittalASL')]);
    const r = preprocessStudy([v], 'mri', { quantize: 'none' });
    const s = centroid(r, 0, 0.95, 1.01), rr = centroid(r, 0, 0.3, 0.36);
    // transpose2dhw (x, z, y): D = x toward R, H = z toward I, W = y toward P.
    assert.ok(rr[0] > 48 * 0.6, `R-block at depth ${rr[0]}`);
    assert.ok(s[1] < 224 / 3, `S-block at row ${s[1]}`);
    assert.deepEqual(r.scans[0].mapping.axes, [2, 1, 0]); // ASL: k is L-R, j S-I, i A-P
  });
});

describe('model grid -> volume', () => {
  test('a one-patch map lands on the voxels of that patch, and on the right side of the patient', async () => {
    const [v] = await volumesOf([ph('axialLPS')]);
    const r = preprocessStudy([v], 'mri');
    const grid: [number, number, number] = [6, 14, 14]; // patch 8 x 16 x 16
    const map = new Float32Array(6 * 14 * 14);
    const [pd, phh, pw] = [1, 7, 12]; // upper slab, middle row, right-hand column
    map[(pd * 14 + phh) * 14 + pw] = 1;
    const back = modelGridToVolume(map, grid, r.scans[0], v);
    assert.equal(back.length, v.voxelsPerFrame);
    const m = r.scans[0].mapping;
    let n = 0;
    const [nx, ny] = v.dims;
    for (let p = 0; p < back.length; p++) {
      if (back[p] < 0.5) continue;
      n++;
      const idx = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      const model = [0, 1, 2].map((c) => {
        const a = m.axes[c], s = m.flip[c] ? v.dims[a] - 1 - idx[a] : idx[a];
        return m.scale[c] * s + m.offset[c];
      });
      const lo = [pd * 8, phh * 16, pw * 16], size = [8, 16, 16];
      for (let c = 0; c < 3; c++) assert.ok(model[c] > lo[c] - size[c] / 2 && model[c] < lo[c] + size[c] * 1.5, `axis ${c}: ${model[c]}`);
      const world = apply4(v.affine, idx as [number, number, number]);
      assert.ok(world[0] > 0, `voxel ${idx} is at x ${world[0]} (left)`); // RAS x > 0: patient's right
      assert.ok(world[2] > 0, `voxel ${idx} is at z ${world[2]} (inferior)`);
    }
    assert.ok(n > 0, 'the patch mapped to no voxel');
  });

  for (const k of ['axialLPS', 'sagittalASL', 'coronalRSP', 'obliqueFloat']) {
    test(`${k}: the pre-processed tensor mapped back correlates with the volume`, async (t) => {
      const [v] = await volumesOf([ph(k)]);
      const r = preprocessStudy([v], 'mri', { quantize: 'none' });
      const back = modelGridToVolume(r.data, [48, 224, 224], r.scans[0], v);
      // Only voxels inside the model's field of view: the crop [16:240] cuts the edges, which map to 0.
      const fov = modelGridToVolume(new Float32Array(48 * 224 * 224).fill(1), [48, 224, 224], r.scans[0], v);
      const vals = v.toFloat32();
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
      for (let p = 0; p < vals.length; p++) {
        if (fov[p] < 0.999) continue;
        const x = vals[p], y = back[p];
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; n++;
      }
      const corr = (sxy - (sx * sy) / n) / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
      t.diagnostic(`correlation ${corr.toFixed(4)}`);
      assert.ok(corr > 0.95 && n > vals.length / 2, `correlation ${corr} over ${n} voxels`);
    });
  }

  test('chest CT: voxels cropped away map to 0', async () => {
    const [v] = await volumesOf([ph('wideCT')]);
    const r = preprocessStudy([v], 'chest-ct');
    const back = modelGridToVolume(new Float32Array(7 * 21 * 21).fill(1), [7, 21, 21], r.scans[0], v);
    // 380 mm wide at 1 mm -> 380 columns, crop keeps the middle 336: 22 columns each side are outside.
    const [nx] = v.dims;
    for (let p = 0; p < back.length; p++) {
      const i = p % nx;
      assert.equal(back[p], i < 22 || i >= 358 ? 0 : 1, `column ${i}`);
    }
  });
});

describe('edge cases', () => {
  const affine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  test('RGB is refused with a clear error', () => {
    const v = new Volume({ name: 'rgb', format: 'nifti', sources: [], dims: [4, 4, 4], components: 3, data: new Uint8Array(4 * 4 * 4 * 3), affine });
    assert.throws(() => preprocessStudy([v], 'mri'), /RGB/);
  });
  test('a constant volume gives the normalised zero, no NaN, and a warning', () => {
    const v = new Volume({ name: 'flat', format: 'nifti', sources: [], dims: [5, 6, 7], data: new Int16Array(210).fill(12), affine });
    for (const protocol of ['mri', 'head-ct', 'chest-ct'] as const) {
      const r = preprocessStudy([v], protocol);
      assert.ok(r.data.every((x) => Number.isFinite(x)), protocol);
      if (protocol === 'mri') {
        assert.ok(r.data.every((x) => x === r.data[0]) && Math.abs(r.data[0] + NORM_MEAN / NORM_STD) < 1e-6);
        assert.ok(r.warnings.some((w) => /constant/.test(w)));
      }
    }
  });
  test('4D volumes use frame 0 and say so', async (t) => {
    if (!haveFixtures) return t.skip('fixture missing');
    const vols = await volumesOf([ex4d]);
    const r = preprocessStudy(vols, 'mri');
    assert.ok(r.warnings.some((w) => /frame 0/.test(w)));
  });
  test('head CT: one scan per window, named after it', () => {
    const v = new Volume({ name: 'ct', format: 'dicom', sources: [], dims: [8, 8, 8], data: new Int16Array(512).map((_, i) => i * 4), affine, rescale: { slope: 1, intercept: -1024 } });
    const r = preprocessStudy([v, v], 'head-ct', { ctWindows: [{ name: 'a', center: 0, width: 100 }, { name: 'b', center: 500, width: 1000 }] });
    assert.deepEqual(r.shape, [1, 4, 1, 48, 224, 224]);
    assert.deepEqual(r.scans.map((s) => s.name), ['ct [a]', 'ct [b]', 'ct [a]', 'ct [b]']);
  });
  test('bad sizes are refused', () => {
    const v = new Volume({ name: 'x', format: 'nifti', sources: [], dims: [2, 2, 2], data: new Int16Array(8), affine });
    assert.throws(() => preprocessStudy([v], 'mri', { imgSize: [0, 224, 224] }), /imgSize/);
    assert.throws(() => preprocessStudy([], 'mri'), /no volume/);
  });
});
