/** `hlip info`: the CLI users and scripts call, run as a child process like a user would. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as dicomParser from 'dicom-parser';
import { isVolumeError } from '../../src/volume/errors';
import { openStudy } from '../../src/volume/open';
import { NIBABEL, PYDICOM, ROOT, fixture } from '../fixtures';
import { tempDir } from '../oracles';

const hlip = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=import', '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8' });

test('hlip info --json describes a DICOM study folder and a 4D NIfTI', (t) => {
  const study = fixture(t, PYDICOM, 'dicomdirtests', '77654033');
  const nii = fixture(t, NIBABEL, 'example4d.nii.gz');
  if (!study || !nii) return;
  const r = hlip('info', study, nii, '--json');
  assert.equal(r.status, 0, r.stderr);
  const [dicom, nifti] = JSON.parse(r.stdout);
  assert.ok(dicom.volumes.length >= 4);
  const ct = dicom.volumes.find((v: { modality: string }) => v.modality === 'CT');
  assert.deepEqual(ct.dims, [16, 16, 4]);
  assert.ok(ct.warnings.some((w: string) => /Non-uniform slice spacing/.test(w)));
  assert.deepEqual(nifti.volumes[0].dims, [128, 96, 24]);
  assert.equal(nifti.volumes[0].frames, 2);
  assert.equal(nifti.volumes[0].orientation, 'LAS');
  assert.equal(nifti.volumes[0].affine.length, 4);
});

test('hlip info prints a readable block and exits 1 with the reason for a bad file', (t) => {
  const ct = fixture(t, PYDICOM, 'CT_small.dcm');
  const sr = fixture(t, PYDICOM, 'test-SR.dcm');
  if (!ct || !sr) return;
  const ok = hlip('info', ct);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /dims\s+128 x 128 x 1\s+int16/);
  assert.match(ok.stdout, /orientation\s+LPS/);
  assert.match(ok.stdout, /HU/);
  const bad = hlip('info', sr);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /structured report, not an image .*\[NOT_AN_IMAGE\]/);
  assert.doesNotMatch(bad.stderr, /at \w+ \(/, 'no stack trace for a user error');
});

test('a DICOM header claiming a huge image is refused before allocating (TOO_LARGE)', async (t) => {
  const src = fixture(t, PYDICOM, 'CT_small.dcm');
  if (!src) return;
  const b = Buffer.from(readFileSync(src));
  const ds = dicomParser.parseDicom(b);
  for (const tag of ['x00280010', 'x00280011']) b.writeUInt16LE(65535, ds.elements[tag].dataOffset);
  const path = join(tempDir('guard'), 'huge.dcm');
  writeFileSync(path, b);
  await assert.rejects(openStudy(path, { maxBytes: 2 ** 30 }), (e) => isVolumeError(e) && e.code === 'TOO_LARGE');
});

test('an option a command does not take is a usage error naming that command\'s options', () => {
  const r = hlip('info', 'x.nii', '--model', 'm.pt');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /hlip info does not take --model; its options: --json/);
  const c = hlip('classify', 'x.nii', '--input', 't.npy');
  assert.equal(c.status, 2);
  assert.match(c.stderr, /hlip classify does not take --input; its options: --model, --ep, --cache, --vocab, --quiet, --json, --top, --protocol, --out/);
  const v = hlip('classify', 'x.nii', '--model');
  assert.equal(v.status, 2);
  assert.match(v.stderr, /--model needs a value/);
  const u = hlip('nonsense');
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command "nonsense"/);
  const h = hlip('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /embed-text --model <ckpt>/);
});
