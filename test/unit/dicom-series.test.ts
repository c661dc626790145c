/**
 * DICOM series assembly against dcm2niix (Debian) as the geometry oracle: shape, affine and voxel values compared in
 * world space, on series written by pydicom (scrambled names and InstanceNumbers, every plane, oblique, enhanced
 * multi-frame, big endian, implicit VR) and on pydicom's real DICOMDIR test study.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStudy } from '../../src/volume/open';
import type { Volume } from '../../src/volume/volume';
import { NIBABEL, PYDICOM, fixture } from '../fixtures';
import { dcm2niix, gridOf, makeSeries, nibabelGrid, tempDir } from '../oracles';
import { type Grid, maxDiffInWorld } from '../world';

/**
 * Our volume equals one of dcm2niix's outputs for the same folder, voxel for voxel in world space. With `sliceOrderOnly`
 * (non-uniform spacing: no single affine is right, dcm2niix uses the first gap, we the mean) only the slice direction
 * and order are compared, not the spacing.
 */
function assertMatchesDcm2niix(vol: Volume, dicomDir: string, sliceOrderOnly = false): void {
  const unitSlice = (g: Grid): Grid => {
    const a = [...g.affine];
    if (sliceOrderOnly) {
      const n = Math.hypot(a[2], a[6], a[10]);
      for (const r of [0, 1, 2]) a[r * 4 + 2] /= n;
    }
    return { ...g, affine: a };
  };
  const outputs = dcm2niix(dicomDir).map(nibabelGrid).map(unitSlice);
  assert.ok(outputs.length > 0, 'dcm2niix wrote nothing');
  const ours = unitSlice(gridOf(vol));
  const reasons: string[] = [];
  for (const theirs of outputs) {
    try {
      const d = maxDiffInWorld(ours, theirs);
      assert.ok(d < 1e-3, `values differ by ${d}`);
      return;
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  assert.fail(`no dcm2niix output matches ${vol.name}: ${reasons.join(' | ')}`);
}

async function single(dir: string): Promise<Volume> {
  const study = await openStudy(dir);
  assert.equal(study.volumes.length, 1, `expected one series in ${dir}`);
  return study.volumes[0];
}

describe('generated series vs dcm2niix', () => {
  const cases: [string, string[]][] = [
    ['axial CT, scrambled file names and InstanceNumbers', ['--scramble']],
    ['oblique MR, implicit VR', ['--orient', 'oblique', '--syntax', 'implicit', '--modality', 'MR']],
    ['coronal CT, explicit big endian', ['--orient', 'coronal', '--syntax', 'bigendian']],
    ['sagittal MR, scrambled', ['--orient', 'sagittal', '--modality', 'MR', '--scramble', '--seed', '3']],
    ['enhanced multi-frame MR, scrambled frames', ['--enhanced', '--orient', 'oblique', '--modality', 'MR', '--scramble']],
  ];
  for (const [name, args] of cases) {
    test(name, async () => {
      const dir = makeSeries(join(tempDir('series'), 'dcm'), ...args);
      const vol = await single(dir);
      assert.deepEqual(vol.dims, [40, 36, 24]);
      assert.deepEqual(vol.spacing.map((s) => +s.toFixed(4)), [0.9, 1.1, 2.5]);
      assertMatchesDcm2niix(vol, dir);
    });
  }

  test('CT comes out in Hounsfield units (rescale intercept -1024 applied lazily)', async () => {
    const vol = await single(makeSeries(join(tempDir('series'), 'dcm'), '--scramble'));
    assert.equal(vol.dataType, 'int16', 'stored values stay int16');
    assert.deepEqual(vol.rescale, { slope: 1, intercept: -1024 });
    assert.equal(vol.get(0, 0, 0), vol.frame()[0] - 1024);
    assert.equal(vol.modality, 'CT');
  });

  test('a real anatomical scan written as DICOM slices round-trips through both readers', async (t) => {
    const src = fixture(t, NIBABEL, 'anatomical.nii');
    if (!src) return;
    const dir = makeSeries(join(tempDir('series'), 'dcm'), '--from', src, '--orient', 'oblique', '--scramble', '--modality', 'MR');
    assertMatchesDcm2niix(await single(dir), dir);
  });

  test('non-uniform spacing is reported', async () => {
    const vol = await single(makeSeries(join(tempDir('series'), 'dcm'), '--gap-jitter', '0.6', '--seed', '5'));
    assert.ok(vol.warnings.some((w) => /Non-uniform slice spacing/.test(w)), vol.warnings.join('\n'));
  });

  test('gantry tilt is reported and the affine keeps true slice positions', async () => {
    const vol = await single(makeSeries(join(tempDir('series'), 'dcm'), '--tilt', '12'));
    const w = vol.warnings.find((x) => /Gantry tilt of 12/.test(x));
    assert.ok(w, vol.warnings.join('\n'));
    // Column 3 of the affine (slice step) leans by the tilt: tan(12 deg) * 2.5 mm along y.
    const a = vol.affine;
    assert.ok(Math.abs(Math.abs(a[6]) - Math.tan((12 * Math.PI) / 180) * 2.5) < 1e-3, `affine ${a}`);
  });

  test('a folder with two series is a study with two volumes, in series order', async () => {
    const root = tempDir('study');
    makeSeries(join(root, 'a'), '--modality', 'MR', '--seed', '1');
    makeSeries(join(root, 'b'), '--orient', 'sagittal', '--seed', '2');
    const study = await openStudy(root);
    assert.equal(study.volumes.length, 2);
    assert.notEqual(study.volumes[0].seriesUid, study.volumes[1].seriesUid);
  });

  test('one SeriesInstanceUID mixing two orientations is split and the split is reported', async () => {
    const root = tempDir('mixed');
    const uid = '1.2.826.0.1.3680043.8.498.42';
    makeSeries(join(root, 'ax'), '--series-uid', uid);
    makeSeries(join(root, 'sag'), '--orient', 'sagittal', '--series-uid', uid);
    const study = await openStudy(root);
    assert.equal(study.volumes.length, 2);
    assert.ok(study.volumes.every((v) => v.seriesUid === uid && v.warnings.some((w) => /mixes image sizes or orientations/.test(w))));
    assert.deepEqual(study.volumes.map((v) => v.orientation).sort(), ['LPS', 'PIR']);
  });
});

describe("pydicom's DICOMDIR test study (real files)", () => {
  for (const sub of ['98892003', '98892001', '77654033']) {
    test(`folder ${sub}: every series matches dcm2niix`, async (t) => {
      const dir = fixture(t, PYDICOM, 'dicomdirtests', sub);
      if (!dir) return;
      const study = await openStudy(dir);
      const seriesDirs = readdirSync(dir).map((d) => join(dir, d));
      assert.ok(study.volumes.length >= seriesDirs.length, `${study.volumes.length} volumes for ${seriesDirs.length} folders`);
      for (const sd of seriesDirs) {
        const vols = (await openStudy(sd)).volumes;
        for (const v of vols) {
          if (vols.length > 1) {
            // Localizers: one folder holds several series, or one series in several orientations (tri-planar pilots,
            // angio projections). dcm2niix stacks those into one sheared volume (guessing a gantry tilt); we keep one
            // volume per orientation and say so.
            const sameUid = vols.filter((o) => o.seriesUid === v.seriesUid).length;
            assert.ok(sameUid === 1 || v.warnings.some((w) => /mixes image sizes or orientations/.test(w)), v.warnings.join('\n'));
            continue;
          }
          // Radiographs carry no patient position: their values are checked against pydicom in dicom-files.test.ts.
          if (v.warnings.some((w) => /position and orientation unknown/.test(w))) continue;
          const copy = join(tempDir('one'), 'series');
          cpSync(sd, copy, { recursive: true });
          assertMatchesDcm2niix(v, copy, v.warnings.some((w) => /Non-uniform slice spacing/.test(w)));
        }
      }
    });
  }

  test('opening the DICOMDIR file reads the series it references', async (t) => {
    const dicomdir = fixture(t, PYDICOM, 'dicomdirtests', 'DICOMDIR');
    if (!dicomdir) return;
    const study = await openStudy(dicomdir);
    assert.ok(study.volumes.length >= 5, `${study.volumes.length} volumes`);
    assert.ok(study.volumes.every((v) => v.format === 'dicom'));
  });
});
