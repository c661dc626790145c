/**
 * A slice as cornerstone pixels, without a browser: cornerstone maps pixel p to the real value p * slope + intercept
 * before its window table, so that must give back each voxel's real value: exactly for 8/16-bit types (handed over as
 * they are, the table spanning the whole type), within one quantisation step for floats (NaN at the lowest), and colour
 * as RGBA. The buffers are reused while the size stays.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VolumeMeta, VoxelType } from '../../src/shared/volume-meta';
import { DisplayVolume } from '../../webview/display';
import { pixelFormat, sliceImage, slicePixels } from '../../webview/slice-image';

function volume(dataType: VoxelType, values: number[], rescale: VolumeMeta['rescale'], range: [number, number]): DisplayVolume {
  const Ctor = { int16: Int16Array, uint16: Uint16Array, uint8: Uint8Array, int8: Int8Array, float32: Float32Array, rgb24: Uint8Array }[dataType as 'int16'];
  const n = dataType === 'rgb24' ? values.length / 3 : values.length;
  const meta: VolumeMeta = {
    name: 't', format: 'nifti', modality: 'OT', dims: [n, 1, 1], frames: 1, dataType, affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    spacing: [1, 1, 1], orientation: 'RAS', rescale, range, invertDisplay: false, header: [], warnings: [], files: 1,
  };
  return new DisplayVolume(meta, new Ctor(values).buffer as ArrayBuffer);
}

const cases: [VoxelType, number[], VolumeMeta['rescale']][] = [
  ['int16', [-32768, -1024, -1, 0, 1, 40, 3071, 32767], { slope: 1, intercept: -1024 }],
  ['uint16', [0, 1, 1024, 65535], { slope: 0.5, intercept: -1024 }],
  ['uint8', [0, 1, 128, 255], null],
  ['int8', [-128, -1, 0, 127], null],
];

for (const [type, values, rescale] of cases) {
  test(`${type}: handed to cornerstone as stored, the table over the whole type, real values kept exactly`, () => {
    const vol = volume(type, values, rescale, [0, 1]);
    const f = pixelFormat(vol);
    const pixels = slicePixels(vol.data, f, vol);
    assert.equal(pixels, vol.data, 'no copy');
    assert.ok(f.min <= Math.min(...values) && f.max >= Math.max(...values));
    values.forEach((v, i) => assert.equal(pixels[i] * f.slope + f.intercept, v * (rescale?.slope ?? 1) + (rescale?.intercept ?? 0)));
  });
}

test('float32: quantised to 16 bits over the volume range, real values within a step, NaN and outliers clamped', () => {
  const rescale = { slope: 2, intercept: 0.5 };
  const values = [-0.25, 0, 0.1, 0.33, 1.75, NaN, -100, 100];
  const vol = volume('float32', values, rescale, [0, 4]);
  const f = pixelFormat(vol);
  assert.deepEqual([f.min, f.max], [0, 65535]);
  const first = slicePixels(vol.data, f, vol);
  assert.ok(first instanceof Uint16Array);
  const again = slicePixels(vol.data, f, vol, first);
  assert.equal(again, first, 'buffer reused');
  values.slice(0, 5).forEach((v, i) => {
    const real = v * rescale.slope + rescale.intercept;
    assert.ok(Math.abs(first[i] * f.slope + f.intercept - real) <= f.slope / 2 + 1e-9, `${v}: ${first[i]}`);
  });
  assert.equal(first[5], 0, 'NaN at the lowest');
  assert.equal(first[6], 0);
  assert.equal(first[7], 65535);
  assert.notEqual(pixelFormat(volume('float32', values, rescale, [0, 8])).key, f.key, 'another range, another format');
});

test('rgb24: RGBA pixels for cornerstone colour images', () => {
  const vol = volume('rgb24', [1, 2, 3, 250, 251, 252], null, [0, 255]);
  const f = pixelFormat(vol);
  assert.equal(f.color, true);
  assert.deepEqual(Array.from(slicePixels(vol.data, f, vol)), [1, 2, 3, 255, 250, 251, 252, 255]);
  const image = sliceImage(f, 2, 1, [0.5, 2], () => vol.data);
  assert.deepEqual([image.width, image.height, image.columnPixelSpacing, image.rowPixelSpacing, image.color], [2, 1, 0.5, 2, true]);
});
