/**
 * NIfTI reader against Debian's nibabel as the oracle: nibabel's own test files and files nibabel writes here for every
 * datatype, endianness, scaling and orientation rule; every voxel of every frame and the affine must agree. Plus the
 * errors a user can meet (truncated, absurd sizes, not NIfTI at all).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isVolumeError } from '../../src/volume/errors';
import { readNifti } from '../../src/volume/nifti';
import type { Volume } from '../../src/volume/volume';
import { NIBABEL, ROOT, SYSTEM_PYTHON, fixture } from '../fixtures';
import { nibabelGrid, tempDir } from '../oracles';

/** Every voxel of every frame (real values) and the affine equal nibabel's get_fdata / affine. */
function assertSameAsNibabel(vol: Volume, path: string): void {
  const ref = nibabelGrid(path);
  assert.deepEqual(vol.dims, ref.dims.concat([1, 1]).slice(0, 3), 'shape');
  vol.affine.forEach((v, i) => assert.ok(Math.abs(v - ref.affine[i]) < 1e-5, `affine[${i}] ${v} vs ${ref.affine[i]}`));
  assert.equal(ref.values.length, vol.voxelsPerFrame * vol.frames, 'number of values');
  for (let t = 0; t < vol.frames; t++) {
    const ours = vol.toFloat32(t);
    const off = t * vol.voxelsPerFrame;
    for (let i = 0; i < ours.length; i++) {
      const a = ours[i];
      const b = ref.values[off + i];
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      if (Math.abs(a - b) > 1e-6 * Math.max(1, Math.abs(b))) assert.fail(`frame ${t} voxel ${i}: ${a} vs nibabel ${b}`);
    }
  }
}

describe("nibabel's test data", () => {
  test('every NIfTI file matches nibabel voxel for voxel', async (t) => {
    const dir = fixture(t, NIBABEL);
    if (!dir) return;
    // CIFTI (row_major.dconn.nii) is a matrix, not an image: nibabel's get_fdata gives it no spatial axes either.
    const files = readdirSync(dir).filter((f) => /\.nii(\.gz)?$/.test(f) && !f.includes('dconn'));
    assert.ok(files.length >= 7, files.join(', '));
    for (const f of files) assertSameAsNibabel(await readNifti(join(dir, f)), join(dir, f));
  });
});

describe('files nibabel writes for each case', () => {
  const dir = tempDir('nifti-cases');
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_nifti_cases.py'), dir], { stdio: 'pipe' });
  const cases = readdirSync(dir).filter((f) => /\.(nii|nii\.gz|hdr)$/.test(f) && !f.startsWith('rgb24'));

  for (const name of cases) {
    test(name, async () => assertSameAsNibabel(await readNifti(join(dir, name)), join(dir, name)));
  }

  test('voxels keep their stored type; the CT comes out in Hounsfield units lazily', async () => {
    for (const dt of ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64']) {
      assert.equal((await readNifti(join(dir, `type-${dt}.nii`))).dataType, dt);
    }
    const ct = await readNifti(join(dir, 'ct-hu.nii'));
    assert.equal(ct.dataType, 'int16');
    assert.deepEqual(ct.rescale, { slope: 1, intercept: -1024 });
    assert.equal(ct.get(1, 2, 3), ct.frame()[(3 * 6 + 2) * 7 + 1] - 1024);
  });

  test('scl_slope 0 means no scaling, as the standard and nibabel say', async () => {
    assert.equal((await readNifti(join(dir, 'slope0.nii'))).rescale, null);
  });

  test('qform/sform disagreement and missing orientation are reported', async () => {
    assert.ok((await readNifti(join(dir, 'qform-sform-disagree.nii'))).warnings.some((w) => /disagree/.test(w)));
    assert.ok((await readNifti(join(dir, 'no-orientation.nii'))).warnings.some((w) => /orientation is unknown/.test(w)));
  });

  test('4D: all frames are kept', async () => {
    const v = await readNifti(join(dir, 'four-d.nii.gz'));
    assert.equal(v.frames, 3);
    assert.equal(v.data.length, 7 * 6 * 5 * 3);
  });

  test('RGB24 is read as three interleaved components', async () => {
    const v = await readNifti(join(dir, 'rgb24.nii'));
    assert.equal(v.dataType, 'rgb24');
    assert.deepEqual(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength), readFileSync(join(dir, 'rgb24.expected')));
  });
});

describe('bad input gives a typed error', () => {
  const expectCode = async (path: string, code: string) => {
    await assert.rejects(readNifti(path), (e) => isVolumeError(e) && e.code === code);
  };

  test('a truncated .nii is TRUNCATED; a truncated .nii.gz too', async () => {
    const dir = tempDir('nifti-bad');
    const src = readFileSync(join(NIBABEL, 'anatomical.nii'));
    writeFileSync(join(dir, 'cut.nii'), src.subarray(0, src.length - 100));
    await expectCode(join(dir, 'cut.nii'), 'TRUNCATED');
    const gz = readFileSync(join(NIBABEL, 'example4d.nii.gz'));
    writeFileSync(join(dir, 'cut.nii.gz'), gz.subarray(0, gz.length >> 1));
    await expectCode(join(dir, 'cut.nii.gz'), 'TRUNCATED');
    writeFileSync(join(dir, 'header-only.nii'), src.subarray(0, 200));
    await expectCode(join(dir, 'header-only.nii'), 'TRUNCATED');
  });

  test('a header claiming 30000^3 voxels is refused before allocating (TOO_LARGE)', async () => {
    const dir = tempDir('nifti-bad');
    const b = Buffer.from(readFileSync(join(NIBABEL, 'anatomical.nii')));
    for (const i of [1, 2, 3]) b.writeInt16LE(30000, 40 + 2 * i); // dim[1..3]
    writeFileSync(join(dir, 'huge.nii'), b);
    const t0 = Date.now();
    await expectCode(join(dir, 'huge.nii'), 'TOO_LARGE');
    assert.ok(Date.now() - t0 < 2000, 'the guard must act before reading or allocating');
  });

  test('garbage, zero dimensions and unknown datatypes', async () => {
    const dir = tempDir('nifti-bad');
    writeFileSync(join(dir, 'garbage.nii'), Buffer.from('not a nifti file at all'.repeat(30)));
    await expectCode(join(dir, 'garbage.nii'), 'UNRECOGNISED');
    const b = Buffer.from(readFileSync(join(NIBABEL, 'anatomical.nii')));
    b.writeInt16LE(0, 42); // dim[1] = 0
    writeFileSync(join(dir, 'zero.nii'), b);
    await expectCode(join(dir, 'zero.nii'), 'BAD_HEADER');
    const c = Buffer.from(readFileSync(join(NIBABEL, 'anatomical.nii')));
    c.writeInt16LE(32, 70); // datatype complex64
    writeFileSync(join(dir, 'complex.nii'), c);
    await expectCode(join(dir, 'complex.nii'), 'UNSUPPORTED_DATATYPE');
  });
});
