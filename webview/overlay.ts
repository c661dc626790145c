/**
 * The overlay layer: a second volume (label map, probability map, HLIP attention) shown over the base scan. It may sit
 * on the same grid or any other: each displayed pixel is mapped through world space to the overlay's nearest voxel.
 */
import { type Mat4, apply4, invert4, mul4 } from '../src/shared/geometry';
import { table } from './colormap-tables';
import type { DisplayVolume } from './display';
import { type Plane, canonicalToVoxel, screenToCanonical } from './reslice';

export interface OverlaySettings {
  name: string;
  visible: boolean;
  opacity: number;
  /** Values at or below this (real units) are transparent. */
  threshold: number;
  colormap: string;
}

export class Overlay {
  /** base voxel index -> overlay voxel index */
  private readonly baseToOverlay: Mat4;
  readonly settings: OverlaySettings;
  readonly range: [number, number];

  constructor(readonly vol: DisplayVolume, base: DisplayVolume, name: string) {
    this.baseToOverlay = mul4(invert4(vol.meta.affine), base.meta.affine);
    this.range = vol.meta.range;
    const [lo, hi] = this.range;
    // Label maps are zero outside the region of interest: hide zero by default. Maps whose values are all positive
    // (attention) use their own range, so the colours show where within it each voxel lies.
    const threshold = lo > 0 ? lo : lo === 0 ? 0 : lo + (hi - lo) * 0.5;
    this.settings = { name, visible: true, opacity: 0.5, threshold, colormap: 'heat' };
  }

  /** RGBA pixels of the overlay for one base slice (width x height as the base layout). */
  sliceRGBA(base: DisplayVolume, plane: Plane, radiological: boolean, slice: number, frame: number, width: number, height: number): ImageData {
    const img = new ImageData(width, height);
    const out = img.data;
    const { threshold, opacity } = this.settings;
    const lut = table(this.settings.colormap);
    const hi = this.range[1];
    const span = hi - threshold || 1;
    const alpha = Math.round(opacity * 255);
    const [nx, ny, nz] = this.vol.dims;
    const f = Math.min(frame, this.vol.meta.frames - 1);
    const m = this.baseToOverlay;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const vox = canonicalToVoxel(base.canon, screenToCanonical(base.canon, plane, radiological, x, y, slice));
        const [oi, oj, ok] = apply4(m, vox).map(Math.round);
        if (oi < 0 || oj < 0 || ok < 0 || oi >= nx || oj >= ny || ok >= nz) continue;
        const v = this.vol.valueAt(oi, oj, ok, f);
        const val = typeof v === 'number' ? v : (v[0] + v[1] + v[2]) / 3;
        if (!(val > threshold)) continue;
        const t = Math.min(255, Math.max(0, Math.round(((val - threshold) / span) * 255)));
        const o = 4 * (y * width + x);
        out[o] = lut[3 * t];
        out[o + 1] = lut[3 * t + 1];
        out[o + 2] = lut[3 * t + 2];
        out[o + 3] = alpha;
      }
    }
    return img;
  }
}
