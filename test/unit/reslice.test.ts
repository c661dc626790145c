/** The viewer's plane geometry: whatever the storage order, right/anterior/superior land on the right screen sides. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apply4 } from '../../src/shared/geometry';
import {
  PLANES,
  canonical,
  canonicalToScreen,
  canonicalToVoxel,
  extractSlice,
  screenToCanonical,
  sliceLayout,
  voxelToCanonical,
} from '../../webview/reslice';

// Storage orders a scanner or converter may write: RAS (nibabel canonical), LPS (DICOM axial), PIR (DICOM sagittal),
// LIP (coronal), and an oblique grid.
const AFFINES: Record<string, number[]> = {
  RAS: [1, 0, 0, -10, 0, 2, 0, -20, 0, 0, 3, -30, 0, 0, 0, 1],
  LPS: [-1, 0, 0, 10, 0, -2, 0, 20, 0, 0, 3, -30, 0, 0, 0, 1],
  PIR: [0, 0, 3, -30, -1, 0, 0, 10, 0, -2, 0, 20, 0, 0, 0, 1],
  LIP: [-1, 0, 0, 10, 0, 0, -3, 30, 0, -2, 0, 20, 0, 0, 0, 1],
  oblique: [0.96, -0.2, 0.1, 0, 0.2, 1.9, -0.3, 0, -0.05, 0.4, 2.9, 0, 0, 0, 0, 1],
};
const DIMS = [5, 6, 7];

for (const [name, affine] of Object.entries(AFFINES)) {
  test(`${name}: world extremes appear on the labelled screen sides in every plane`, () => {
    const c = canonical(affine, DIMS);
    // The voxel furthest toward world +R, +A, +S respectively.
    for (let w = 0; w < 3; w++) {
      let best = -Infinity;
      let bestVox: number[] = [];
      for (let k = 0; k < DIMS[2]; k++)
        for (let j = 0; j < DIMS[1]; j++)
          for (let i = 0; i < DIMS[0]; i++) {
            const v = apply4(affine, [i, j, k])[w];
            if (v > best) [best, bestVox] = [v, [i, j, k]];
          }
      const p = voxelToCanonical(c, bestVox);
      assert.equal(p[w], c.size[w] - 1, `${name}: most ${'RAS'[w]} voxel is at the top of canonical axis ${w}`);
      assert.deepEqual(canonicalToVoxel(c, p), bestVox);
      for (const plane of PLANES) {
        for (const radiological of [true, false]) {
          const lay = sliceLayout(c, plane, radiological);
          const [x, y] = canonicalToScreen(c, plane, radiological, p);
          const letter = 'RAS'[w];
          if (lay.labels[0] === letter) assert.equal(x, 0, `${plane} ${letter} on the left`);
          if (lay.labels[1] === letter) assert.equal(x, lay.width - 1, `${plane} ${letter} on the right`);
          if (lay.labels[2] === letter) assert.equal(y, 0, `${plane} ${letter} at the top`);
          if (lay.labels[3] === letter) assert.equal(y, lay.height - 1);
        }
      }
    }
  });
}

test('radiological axial shows the patient right on the screen left; neurological on the right', () => {
  const c = canonical(AFFINES.LPS, DIMS);
  assert.deepEqual(sliceLayout(c, 'axial', true).labels, ['R', 'L', 'A', 'P']);
  assert.deepEqual(sliceLayout(c, 'axial', false).labels, ['L', 'R', 'A', 'P']);
  assert.deepEqual(sliceLayout(c, 'coronal', true).labels, ['R', 'L', 'S', 'I']);
  assert.deepEqual(sliceLayout(c, 'sagittal', true).labels, ['A', 'P', 'S', 'I']);
});

test('extractSlice walks the stored array exactly as screenToCanonical says, for grey and RGB', () => {
  for (const affine of Object.values(AFFINES)) {
    const c = canonical(affine, DIMS);
    const n = DIMS[0] * DIMS[1] * DIMS[2];
    const data = Float32Array.from({ length: n * 2 }, (_, i) => i); // two frames
    const rgb = Uint8Array.from({ length: n * 3 }, (_, i) => i % 251);
    for (const plane of PLANES) {
      for (const rad of [true, false]) {
        const lay = sliceLayout(c, plane, rad);
        const s = Math.floor(lay.depth / 2);
        const out = new Float32Array(lay.width * lay.height);
        extractSlice(c, DIMS, data, plane, rad, s, out, 1);
        const outRgb = new Uint8Array(lay.width * lay.height * 3);
        extractSlice(c, DIMS, rgb, plane, rad, s, outRgb, 0, 3);
        for (let y = 0; y < lay.height; y++)
          for (let x = 0; x < lay.width; x++) {
            const [i, j, k] = canonicalToVoxel(c, screenToCanonical(c, plane, rad, x, y, s));
            const idx = (k * DIMS[1] + j) * DIMS[0] + i;
            assert.equal(out[y * lay.width + x], n + idx);
            assert.equal(outRgb[(y * lay.width + x) * 3 + 2], rgb[idx * 3 + 2]);
          }
      }
    }
  }
});
