/**
 * The webview's display volume without a browser: windowing through the lookup table gives the same colours as the
 * window formula computed per value (8/16-bit through the table, floats directly), NaN paints the lowest colour, and a
 * streamed volume tells which planes can be shown as its slices arrive and when its automatic window should follow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VolumeMeta, VoxelType } from '../../src/shared/volume-meta';
import { DisplayVolume } from '../../webview/display';
import { packedPalette, windowRamp } from '../../webview/windowing';
import { table } from '../../webview/colormap-tables';

function meta(dataType: VoxelType, dims: [number, number, number], rescale: VolumeMeta['rescale'] = null): VolumeMeta {
  return {
    name: 't', format: 'nifti', modality: 'OT', dims, frames: 1, dataType, affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    spacing: [1, 1, 1], orientation: 'RAS', rescale, range: [0, 1], invertDisplay: false, header: [], warnings: [], files: 1,
  };
}

/** The window formula for one stored value, as a palette index (the reference the table must match). */
function expectedIndex(v: number, center: number, width: number, slope: number, intercept: number): number {
  const real = v * slope + intercept;
  const t = ((real - (center - width / 2)) / width) * 255;
  return Number.isNaN(t) ? 0 : Math.max(0, Math.min(255, Math.round(t)));
}

const cases: [VoxelType, number[], VolumeMeta['rescale']][] = [
  ['int16', [-32768, -1024, -1, 0, 1, 39, 40, 41, 80, 3071, 32767], { slope: 1, intercept: -1024 }],
  ['uint16', [0, 1, 500, 1000, 1024, 1064, 2000, 65535], { slope: 1, intercept: -1024 }],
  ['uint8', [0, 1, 100, 127, 128, 254, 255], null],
  ['int8', [-128, -1, 0, 1, 127], null],
  ['float32', [-1e9, -0.5, 0, 0.25, 0.5, 0.75, 1, 1e9, NaN], { slope: 2, intercept: 0.5 }],
];

for (const [type, values, rescale] of cases) {
  test(`${type}: windowed colours match the window formula`, () => {
    const Ctor = { int16: Int16Array, uint16: Uint16Array, uint8: Uint8Array, int8: Int8Array, float32: Float32Array }[type as 'int16'];
    const data = new Ctor(values);
    const vol = new DisplayVolume(meta(type, [values.length, 1, 1], rescale), data.buffer as ArrayBuffer);
    const palette = packedPalette(table('viridis'));
    const out = new Uint32Array(values.length);
    for (const w of [{ center: 40, width: 80 }, { center: 0.3, width: 1.7 }, { center: -500, width: 3000 }]) {
      vol.paint(data, w, palette, out);
      values.forEach((v, i) => {
        const want = palette[expectedIndex(data[i], w.center, w.width, rescale?.slope ?? 1, rescale?.intercept ?? 0)];
        assert.equal(out[i], want, `${type} ${v} in window ${w.center}/${w.width}`);
      });
    }
  });
}

test('packed palette: RGBA bytes in ImageData order, reversed for MONOCHROME1', () => {
  const rgb = table('hot');
  const p = packedPalette(rgb);
  const bytes = new Uint8Array(p.buffer);
  assert.deepEqual([...bytes.subarray(4 * 200, 4 * 200 + 4)], [rgb[600], rgb[601], rgb[602], 255]);
  assert.equal(packedPalette(rgb, true)[0], p[255]);
  assert.deepEqual(windowRamp({ center: 40, width: 80 }, 1, -1024), { a: 255 / 80, b: (-1024 - 0) * (255 / 80) });
});

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
