/**
 * The webview's display volume without a browser: a streamed volume tells which planes can be shown as its slices
 * arrive and when its automatic window should follow. (Its slices as cornerstone pixels: slice-image.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VolumeMeta, VoxelType } from '../../src/shared/volume-meta';
import { DisplayVolume } from '../../webview/display';

function meta(dataType: VoxelType, dims: [number, number, number], rescale: VolumeMeta['rescale'] = null): VolumeMeta {
  return {
    name: 't', format: 'nifti', modality: 'OT', dims, frames: 1, dataType, affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    spacing: [1, 1, 1], orientation: 'RAS', rescale, range: [0, 1], invertDisplay: false, header: [], warnings: [], files: 1,
  };
}

test('a streamed volume: planes are ready as their slices arrive; the automatic window follows the data in', () => {
  const dims: [number, number, number] = [4, 3, 5];
  const m = meta('int16', dims);
  const vol = new DisplayVolume(m, new ArrayBuffer(4 * 3 * 5 * 2), undefined, true);
  const slab = 4 * 3 * 2;
  assert.equal(vol.planeReady('axial', 2, 0), false);
  assert.equal(vol.percentilesStale, true);
  vol.percentile(0.5); // nothing in: an empty sample
  assert.equal(vol.percentilesStale, false);
  // The centre slice (k = 2), in two pieces.
  const centre = new Int16Array(12).map((_, i) => 100 + i);
  vol.insert(2 * slab, centre.buffer.slice(0, 10));
  assert.equal(vol.planeReady('axial', 2, 0), false, 'half a slice is not a slice');
  vol.insert(2 * slab + 10, centre.buffer.slice(10));
  assert.equal(vol.planeReady('axial', 2, 0), true);
  assert.equal(vol.planeReady('axial', 3, 0), false);
  assert.equal(vol.planeReady('coronal', 1, 0), false, 'a coronal slice needs every axial slice');
  assert.equal(vol.percentilesStale, true, 'a first slice is in: the window should follow');
  assert.equal(vol.percentile(0), 100);
  assert.equal(vol.percentile(1), 111);
  for (const k of [0, 1, 3, 4]) vol.insert(k * slab, new Int16Array(12).fill(k).buffer);
  assert.equal(vol.complete, true);
  assert.equal(vol.planeReady('coronal', 1, 0), true);
  assert.equal(vol.percentilesStale, true, 'complete: the window should come from everything');
  assert.equal(vol.percentile(0), 0);
  assert.equal(vol.percentilesStale, false);
});
