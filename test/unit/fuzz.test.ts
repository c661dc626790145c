/**
 * Bounded fuzzing of the readers with mutated real files (bit flips, truncation, length fields, header bytes): every
 * outcome must be a volume or a typed VolumeError; no raw exception, no crash, no hang (run in a child with a timeout).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { NIBABEL, PYDICOM, ROOT, fixture } from '../fixtures';

const SEEDS: [string, string][] = [
  [PYDICOM, 'CT_small.dcm'],
  [PYDICOM, 'MR_small_implicit.dcm'],
  [PYDICOM, 'MR_small_bigendian.dcm'],
  [PYDICOM, 'MR_small_RLE.dcm'],
  [PYDICOM, 'MR_small_jpeg_ls_lossless.dcm'],
  [PYDICOM, 'MR_small_jp2klossless.dcm'],
  [PYDICOM, 'JPEG-lossy.dcm'],
  [PYDICOM, 'image_dfl.dcm'],
  [PYDICOM, 'rtdose.dcm'],
  [PYDICOM, 'SC_rgb_rle.dcm'],
  [PYDICOM, 'no_meta.dcm'],
  [NIBABEL, 'example4d.nii.gz'],
  [NIBABEL, 'anatomical.nii'],
  [NIBABEL, 'example_nifti2.nii.gz'],
];
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 150);

test(`fuzz: ${ITERATIONS} mutants of each of ${SEEDS.length} real files give a volume or a typed error`, (t) => {
  const files = SEEDS.map(([dir, f]) => fixture(t, dir, f)).filter((f): f is string => !!f);
  if (files.length === 0) return;
  const seed = Number(process.env.FUZZ_SEED ?? 20261123);
  const child = spawnSync(
    process.execPath,
    ['--conditions=import', '--import', 'tsx', join(ROOT, 'test', 'fuzz', 'runner.ts'), String(ITERATIONS), String(seed), ...files],
    { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 2 ** 20 },
  );
  assert.equal(child.error, undefined, `fuzz child failed to finish (hang?): ${child.error}`);
  assert.equal(child.status, 0, `fuzz child exited ${child.status} (signal ${child.signal}): ${child.stderr.slice(-2000)}`);
  const result = JSON.parse(child.stdout) as { outcomes: Record<string, number>; untyped: string[]; untypedCount: number };
  t.diagnostic(`outcomes (seed ${seed}): ${JSON.stringify(result.outcomes)}`);
  assert.equal(result.untypedCount, 0, `raw errors escaped:\n${result.untyped.join('\n')}`);
  const total = Object.values(result.outcomes).reduce((a, b) => a + b, 0);
  assert.equal(total, files.length * ITERATIONS);
  assert.ok((result.outcomes.volume ?? 0) > 0 && total - (result.outcomes.volume ?? 0) > 0, 'mutants should both load and fail');
});
