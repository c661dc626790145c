/** Maps made ready to overlay: what the model never saw is not painted, and the colour range is what it saw. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLabel, meanOverHeads, prepareOverlay } from '../../src/hlip/classify/maps';

test('voxels outside the field of view (exactly 0) become NaN; the range spans the rest, negatives included', () => {
  const data = Float32Array.from([0, -0.25, 0.5, 0, 0.125, -0.5]);
  const range = prepareOverlay(data);
  assert.deepEqual(range, [-0.5, 0.5]);
  assert.ok(Number.isNaN(data[0]) && Number.isNaN(data[3]));
  assert.deepEqual([data[1], data[2], data[4], data[5]], [-0.25, 0.5, 0.125, -0.5]);
});

test('a map the model saw none of gets the unit range (nothing painted)', () => {
  const data = new Float32Array(5);
  assert.deepEqual(prepareOverlay(data), [0, 1]);
  assert.ok(data.every((v) => Number.isNaN(v)));
});

test('head mean of the CLS attention, and the overlay names', () => {
  const m = meanOverHeads({ data: Float32Array.from([1, 2, 3, 3, 4, 5]), dims: [1, 2, 3] });
  assert.deepEqual([...m], [2, 3, 4]);
  assert.equal(mapLabel({ kind: 'cls' }, 'T1'), 'HLIP: CLS attention (T1)');
  assert.equal(mapLabel({ kind: 'diagnosis', set: 'mri', className: 'glioma' }, 'T2'), 'HLIP: glioma (T2)');
  assert.equal(mapLabel({ kind: 'prompt', text: 'edema' }, 'FLAIR'), 'HLIP: "edema" (FLAIR)');
});
