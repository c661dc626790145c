/**
 * A received volume prepared for display: typed voxels, the canonical (RAS) walk, and how stored values become the
 * integer pixels cornerstone's lookup tables need (floats and wide integers are quantised to 16 bits).
 */
import type { CenterPlanes, VolumeMeta, VoxelArray } from '../src/shared/volume-meta';
import { typedVoxels } from '../src/shared/transfer';
import { type Canonical, type Plane, canonical, extractSlice, sliceLayout } from './reslice';

export interface Quantisation {
  /** stored -> display integer: round((stored * a) + b). Identity when a = 1, b = 0. */
  a: number;
  b: number;
  /** display integer -> real value (what cornerstone's modality LUT does). */
  slope: number;
  intercept: number;
  min: number;
  max: number;
  identity: boolean;
}

const LEVELS = 65535;

export class DisplayVolume {
  readonly data: VoxelArray;
  readonly canon: Canonical;
  readonly q: Quantisation;
  readonly isColor: boolean;
  private sorted?: Float32Array;
  /** Bytes of the stored array received so far (all of them when built from a whole buffer). */
  loaded: number;
  /** The voxel the viewer starts at: the one whose planes arrive first. */
  readonly centerVoxel: [number, number, number];
  /** Values to take window percentiles from while the volume is still arriving: the centre planes. */
  private readonly sample?: ArrayLike<number>[];

  /** A whole volume (`buffer` holds every voxel), or one that is still arriving (`preview` given, then insert()). */
  constructor(readonly meta: VolumeMeta, buffer: ArrayBuffer, preview?: CenterPlanes) {
    this.data = typedVoxels(meta.dataType, buffer);
    this.canon = canonical(meta.affine, meta.dims);
    this.isColor = meta.dataType === 'rgb24';
    this.q = this.quantisation();
    this.loaded = preview ? 0 : buffer.byteLength;
    this.centerVoxel = preview?.center ?? (meta.dims.map((n) => n >> 1) as [number, number, number]);
    if (preview) {
      this.sample = preview.planes.map((p) => typedVoxels(meta.dataType, p));
      this.insertPlanes(preview);
    }
  }

  get complete(): boolean {
    return this.loaded >= this.data.byteLength;
  }

  /** Copies received voxel bytes into place. */
  insert(offset: number, bytes: ArrayBuffer): void {
    new Uint8Array(this.data.buffer, this.data.byteOffset).set(new Uint8Array(bytes), offset);
    this.loaded += bytes.byteLength;
  }

  private insertPlanes({ center, planes }: CenterPlanes): void {
    const [nx, ny, nz] = this.dims;
    const c = this.isColor ? 3 : 1;
    const [pi, pj, pk] = planes.map((p) => typedVoxels(this.meta.dataType, p));
    const at = (i: number, j: number, k: number) => ((k * ny + j) * nx + i) * c;
    this.data.set(pk, at(0, 0, center[2]));
    for (let k = 0; k < nz; k++) this.data.set(pj.subarray(k * nx * c, (k + 1) * nx * c), at(0, center[1], k));
    for (let k = 0, o = 0; k < nz; k++) for (let j = 0; j < ny; j++, o += c) this.data.set(pi.subarray(o, o + c), at(center[0], j, k));
  }

  /** Display integers from the stored range (known from the header side, so no pass over arriving data). */
  private quantisation(): Quantisation {
    const slope = this.meta.rescale?.slope ?? 1;
    const intercept = this.meta.rescale?.intercept ?? 0;
    const t = this.meta.dataType;
    const [r0, r1] = this.meta.range;
    let lo = (r0 - intercept) / slope;
    let hi = (r1 - intercept) / slope;
    if (lo > hi) [lo, hi] = [hi, lo];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 0];
    if (t !== 'float32' && t !== 'float64') [lo, hi] = [Math.round(lo), Math.round(hi)];
    const integer = t !== 'float32' && t !== 'float64';
    if (integer && hi - lo <= LEVELS) return { a: 1, b: 0, slope, intercept, min: lo, max: hi, identity: true };
    // Map [lo, hi] stored onto [0, LEVELS]; keep real values through slope/intercept.
    const span = hi - lo || 1;
    const a = LEVELS / span;
    return { a, b: -lo * a, slope: (span / LEVELS) * slope, intercept: lo * slope + intercept, min: 0, max: LEVELS, identity: false };
  }

  get dims() {
    return this.meta.dims;
  }

  layout(plane: Plane, radiological: boolean) {
    return sliceLayout(this.canon, plane, radiological);
  }

  /** Display pixels of one slice: integers for grey (Int32Array), RGBA bytes for colour. */
  slicePixels(plane: Plane, radiological: boolean, slice: number, frame: number): { pixels: Int32Array | Uint8ClampedArray; width: number; height: number } {
    const lay = this.layout(plane, radiological);
    const n = lay.width * lay.height;
    if (this.isColor) {
      const rgb = new Uint8Array(n * 3);
      extractSlice(this.canon, this.dims, this.data, plane, radiological, slice, rgb, frame, 3);
      const rgba = new Uint8ClampedArray(n * 4);
      for (let i = 0; i < n; i++) {
        rgba[4 * i] = rgb[3 * i];
        rgba[4 * i + 1] = rgb[3 * i + 1];
        rgba[4 * i + 2] = rgb[3 * i + 2];
        rgba[4 * i + 3] = 255;
      }
      return { pixels: rgba, width: lay.width, height: lay.height };
    }
    const out = new Int32Array(n);
    if (this.q.identity) {
      extractSlice(this.canon, this.dims, this.data, plane, radiological, slice, out, frame);
    } else {
      const real = new Float64Array(n);
      extractSlice(this.canon, this.dims, this.data, plane, radiological, slice, real, frame);
      const { a, b } = this.q;
      for (let i = 0; i < n; i++) out[i] = Number.isFinite(real[i]) ? Math.round(real[i] * a + b) : 0;
    }
    return { pixels: out, width: lay.width, height: lay.height };
  }

  /** Real value at a voxel index of a frame. */
  valueAt(i: number, j: number, k: number, frame: number): number | [number, number, number] {
    const [nx, ny, nz] = this.dims;
    const idx = ((frame * nz + k) * ny + j) * nx + i;
    if (this.isColor) return [this.data[3 * idx], this.data[3 * idx + 1], this.data[3 * idx + 2]];
    const v = this.data[idx];
    const r = this.meta.rescale;
    return r ? v * r.slope + r.intercept : v;
  }

  /** Real value at a fraction of the sorted voxel values (for automatic windowing). Sorted once, sub-sampled. */
  percentile(p: number): number {
    if (!this.sorted) {
      const c = this.isColor ? 3 : 1;
      const sources = this.sample ?? [this.data];
      const n = sources.reduce((a, s) => a + s.length / c, 0);
      const step = Math.max(1, Math.floor(n / 200_000));
      const s = new Float32Array(Math.ceil(n / step) + sources.length);
      const r = this.meta.rescale;
      let o = 0;
      for (const src of sources) {
        for (let i = 0; i < src.length / c; i += step) {
          const v = src[c * i];
          s[o++] = r ? v * r.slope + r.intercept : v;
        }
      }
      this.sorted = s.subarray(0, o).sort();
    }
    const s = this.sorted;
    return s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  }
}
