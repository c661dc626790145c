/**
 * Reading while following (ReadOptions.progress, what the viewer streams): the centre slice is reported first, every
 * reported byte already holds its final value, and the reports cover the whole stored array exactly once. On a
 * .nii.gz larger than one inflate chunk (nibabel-written) and on a scrambled DICOM series (pydicom-written).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReadProgress } from '../../src/volume/limits';
import { openStudy } from '../../src/volume/open';
import type { Volume } from '../../src/volume/volume';
import { SYSTEM_PYTHON } from '../fixtures';
import { makeSeries, tempDir } from '../oracles';

interface Report { from: number; to: number; bytes: Uint8Array }

function recorder() {
  const started: { v: Volume; first: number }[] = [];
  const reports: Report[] = [];
  const progress: ReadProgress = {
    started(v, first) {
      started.push({ v, first });
      return started.length === 1;
    },
    arrived(v, from, to) {
      assert.equal(v, started[0].v, 'only the followed volume reports');
      reports.push({ from, to, bytes: new Uint8Array(v.data.buffer, v.data.byteOffset + from, to - from).slice() });
    },
  };
  return { started, reports, progress };
}

function checkReports(final: Volume, reports: Report[]): void {
  const bytes = new Uint8Array(final.data.buffer, final.data.byteOffset, final.data.byteLength);
  const slab = final.data.byteLength / (final.dims[2] * final.frames);
  const k = final.dims[2] >> 1;
  assert.deepEqual([reports[0].from, reports[0].to], [k * slab, (k + 1) * slab], 'the centre slice comes first');
  const seen = new Uint8Array(bytes.length);
  for (const r of reports) {
    assert.deepEqual(r.bytes, bytes.subarray(r.from, r.to), `bytes [${r.from}, ${r.to}) changed after they were reported`);
    for (let i = r.from; i < r.to; i++) seen[i]++;
  }
  assert.ok(seen.every((n) => n === 1), 'every byte reported exactly once');
}

test('.nii.gz: followed while it inflates, centre slice first', { timeout: 120_000 }, async () => {
  const file = join(tempDir('stream'), 'vol.nii.gz');
  execFileSync(SYSTEM_PYTHON, [join(__dirname, '..', '..', 'bench', 'gen_nifti.py'), file, '--shape', '160', '150', '140']);
  const { started, reports, progress } = recorder();
  const study = await openStudy(file, { progress });
  const v = study.volumes[0];
  assert.equal(started.length, 1);
  assert.equal(started[0].first, 70);
  assert.ok(reports.length > 2, `${reports.length} reports: the file should inflate in several steps`);
  checkReports(v, reports);
  // Not followed: same voxels.
  const plain = (await openStudy(file)).volumes[0];
  assert.deepEqual(plain.data, v.data);
});

test('DICOM series: followed slice by slice, the centre slice first', { timeout: 120_000 }, async () => {
  const dir = makeSeries(tempDir('stream-series'), '--shape', '64', '48', '21', '--scramble');
  const { started, reports, progress } = recorder();
  const study = await openStudy(dir, { progress });
  const v = study.volumes[0];
  assert.equal(started[0].first, 10);
  assert.equal(reports.length, 21);
  checkReports(v, reports);
});
