/**
 * A plane's slice as a cornerstone image. Each plane keeps one image object whose pixels are its cached slice array:
 * from slice to slice only its imageId changes (so cornerstone renders the new pixels but keeps the VOI table it
 * caches on the image, regenerated only when the window changes); a new object only when the pixel format or size does.
 */
import type * as cornerstone from 'cornerstone-core';
import type { VoxelArray } from '../src/shared/volume-meta';
import type { DisplayVolume } from './display';

/** Stored types cornerstone shows as they are: its VOI table spans every value they can hold. */
const DIRECT: Partial<Record<string, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
};

/** How a volume's slice values become cornerstone pixels (`key` tells formats apart). */
export interface PixelFormat {
  key: string;
  min: number;
  max: number;
  slope: number;
  intercept: number;
  color: boolean;
  /** Floats and 32-bit integers: real values quantised to 16 bits over the volume's range (cornerstone indexes a table). */
  quantise?: { lo: number; step: number };
}

export function pixelFormat(vol: DisplayVolume): PixelFormat {
  if (vol.isColor) return { key: `${vol.id}:rgba`, min: 0, max: 255, slope: 1, intercept: 0, color: true };
  const r = vol.meta.rescale;
  const direct = DIRECT[vol.meta.dataType];
  if (direct) return { key: `${vol.id}:direct`, min: direct[0], max: direct[1], slope: r?.slope ?? 1, intercept: r?.intercept ?? 0, color: false };
  const [lo, hi] = vol.meta.range;
  const step = Math.max(hi - lo, 1e-12) / 65535;
  return { key: `${vol.id}:q:${lo}:${hi}`, min: 0, max: 65535, slope: step, intercept: lo, color: false, quantise: { lo, step } };
}

/**
 * The cornerstone pixels of a slice's stored values: the values themselves, or (into `out`, reused while the size
 * stays) quantised values or RGBA for colour.
 */
export function slicePixels(values: VoxelArray, f: PixelFormat, vol: DisplayVolume, out?: Uint8Array | Uint16Array): ArrayLike<number> {
  if (f.color) {
    const n = values.length / 3;
    const rgba = out instanceof Uint8Array && out.length === n * 4 ? out : new Uint8Array(n * 4);
    for (let i = 0, o = 0; i < n; i++, o += 4) {
      rgba[o] = values[3 * i];
      rgba[o + 1] = values[3 * i + 1];
      rgba[o + 2] = values[3 * i + 2];
      rgba[o + 3] = 255;
    }
    return rgba;
  }
  if (!f.quantise) return values;
  const q = out instanceof Uint16Array && out.length === values.length ? out : new Uint16Array(values.length);
  const r = vol.meta.rescale;
  const a = (r?.slope ?? 1) / f.quantise.step;
  const b = ((r?.intercept ?? 0) - f.quantise.lo) / f.quantise.step;
  for (let i = 0; i < values.length; i++) {
    const t = values[i] * a + b;
    q[i] = t >= 0 ? (t >= 65535 ? 65535 : Math.round(t)) : 0; // NaN fails t >= 0: lowest
  }
  return q;
}

/** A cornerstone image of `width` x `height` pixels in format `f`, whose pixel data is whatever `pixels()` returns now. */
export function sliceImage(f: PixelFormat, width: number, height: number, spacing: [number, number], pixels: () => ArrayLike<number>): cornerstone.Image {
  return {
    imageId: '',
    minPixelValue: f.min,
    maxPixelValue: f.max,
    slope: f.slope,
    intercept: f.intercept,
    windowCenter: 0,
    windowWidth: 1,
    getPixelData: pixels,
    rows: height,
    columns: width,
    height,
    width,
    color: f.color,
    rgba: false, // colour pixels are RGBA words, but the alpha is not used
    columnPixelSpacing: spacing[0],
    rowPixelSpacing: spacing[1],
    invert: false,
    sizeInBytes: width * height * (f.color ? 4 : 2),
  };
}
