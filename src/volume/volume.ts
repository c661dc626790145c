import { type Mat4, type Vec3, orientationCode, spacingOf } from '../shared/geometry';
import type { HeaderField, VoxelArray } from '../shared/volume-meta';



/** Stored value -> real value (e.g. Hounsfield units): real = stored * slope + intercept. */
export interface Rescale {
  slope: number;
  intercept: number;
}


export interface VolumeInit {
  name: string;
  format: 'nifti' | 'dicom';
  sources: string[];
  dims: Vec3;
  frames?: number;
  components?: 1 | 3;
  data: VoxelArray;
  rescale?: Rescale | null;
  affine: Mat4;
  modality?: string;
  header?: HeaderField[];
  warnings?: string[];
  /** MONOCHROME1: higher stored values should be shown darker. Values are kept as stored. */
  invertDisplay?: boolean;
  seriesUid?: string;
  description?: string;
}

/**
 * A scan: voxels in the file's own type, x (i) fastest, then y (j), z (k), frame (t); RGB interleaved per voxel.
 * The rescale is applied lazily (get / toFloat32), so a 16-bit CT stays 16-bit in memory.
 */
export class Volume {
  readonly name: string;
  readonly format: 'nifti' | 'dicom';
  readonly sources: string[];
  readonly dims: Vec3;
  readonly frames: number;
  readonly components: 1 | 3;
  readonly data: VoxelArray;
  readonly rescale: Rescale | null;
  readonly affine: Mat4;
  readonly spacing: Vec3;
  readonly orientation: string;
  readonly modality: string;
  readonly header: HeaderField[];
  readonly warnings: string[];
  readonly invertDisplay: boolean;
  readonly seriesUid?: string;
  readonly description?: string;
  private cachedRange?: [number, number];

  constructor(init: VolumeInit) {
    this.name = init.name;
    this.format = init.format;
    this.sources = init.sources;
    this.dims = init.dims;
    this.frames = init.frames ?? 1;
    this.components = init.components ?? 1;
    this.data = init.data;
    const r = init.rescale;
    this.rescale = r && !(r.slope === 1 && r.intercept === 0) && r.slope !== 0 ? r : null;
    this.affine = init.affine;
    this.spacing = spacingOf(init.affine);
    this.orientation = orientationCode(init.affine);
    this.modality = init.modality ?? 'OT';
    this.header = init.header ?? [];
    this.warnings = init.warnings ?? [];
    this.invertDisplay = init.invertDisplay ?? false;
    this.seriesUid = init.seriesUid;
    this.description = init.description;
    const expected = this.voxelsPerFrame * this.frames * this.components;
    if (this.data.length !== expected) {
      throw new Error(`Volume ${this.name}: ${this.data.length} values for ${expected} voxels`);
    }
  }

  get voxelsPerFrame(): number {
    return this.dims[0] * this.dims[1] * this.dims[2];
  }

  /** Name of the stored element type, e.g. "int16"; "rgb24" for 3-component uint8. */
  get dataType(): string {
    if (this.components === 3) return 'rgb24';
    return this.data.constructor.name.replace('Array', '').toLowerCase();
  }

  /** Stored values of one frame (a view, no copy). */
  frame(t = 0): VoxelArray {
    const n = this.voxelsPerFrame * this.components;
    return this.data.subarray(t * n, (t + 1) * n) as VoxelArray;
  }

  /** Real (rescaled) value at a voxel; for RGB the mean of the three components. */
  get(i: number, j: number, k: number, t = 0): number {
    const idx = ((t * this.dims[2] + k) * this.dims[1] + j) * this.dims[0] + i;
    let v: number;
    if (this.components === 3) {
      v = (this.data[idx * 3] + this.data[idx * 3 + 1] + this.data[idx * 3 + 2]) / 3;
    } else v = this.data[idx];
    return this.rescale ? v * this.rescale.slope + this.rescale.intercept : v;
  }

  /** Real values of one frame as float32 (a new array), RGB reduced to its mean. */
  toFloat32(t = 0): Float32Array {
    const src = this.frame(t);
    const n = this.voxelsPerFrame;
    const out = new Float32Array(n);
    if (this.components === 3) {
      for (let p = 0; p < n; p++) out[p] = (src[3 * p] + src[3 * p + 1] + src[3 * p + 2]) / 3;
    } else out.set(src);
    if (this.rescale) {
      const { slope, intercept } = this.rescale;
      for (let p = 0; p < n; p++) out[p] = out[p] * slope + intercept;
    }
    return out;
  }

  /** Min and max real value over all frames, ignoring NaN. */
  range(): [number, number] {
    return (this.cachedRange ??= sampleRange(this.data, this.rescale));
  }
}

/** Min and max real value of stored values (any part of a volume), ignoring NaN; [NaN, NaN] when there are none. */
export function sampleRange(d: ArrayLike<number>, rescale: Rescale | null): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let p = 0; p < d.length; p++) {
    const v = d[p];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) [lo, hi] = [NaN, NaN];
  if (rescale) {
    const a = lo * rescale.slope + rescale.intercept;
    const b = hi * rescale.slope + rescale.intercept;
    [lo, hi] = a <= b ? [a, b] : [b, a];
  }
  return [lo, hi];
}

/** Several volumes of one patient visit (series of a DICOM study, or NIfTI scans of a folder), in a stable order. */
export interface Study {
  name: string;
  volumes: Volume[];
  /** Problems that did not stop the study from loading (unreadable files skipped, ...). */
  warnings: string[];
}
