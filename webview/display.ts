/**
 * A received volume prepared for display: typed voxels (filled in as they arrive), the canonical (RAS) walk, which
 * stored slices are in, slices extracted for the views (cornerstone windows and colours them), window percentiles.
 */
import type { CenterPlanes, VolumeMeta, VoxelArray } from '../src/shared/volume-meta';
import { typedVoxels } from '../src/shared/transfer';
import { type Canonical, type Plane, canonical, extractSlice, sliceLayout } from './reslice';

/** The canonical axis each plane slices through (R, A, S = 0, 1, 2). */
const THROUGH: Record<Plane, number> = { axial: 2, coronal: 1, sagittal: 0 };

export class DisplayVolume {
  private static count = 0;
  /** Tells volumes apart in the views' caches. */
  readonly id = DisplayVolume.count++;
  readonly data: VoxelArray;
  readonly canon: Canonical;
  readonly isColor: boolean;
  private sorted?: Float32Array;
  private sortedComplete = false;
  /** Bytes of the stored array received so far (all of them when built from a whole buffer). */
  loaded: number;
  /** Bumped on every insert: cached slices older than this are stale. */
  version = 0;
  /** The voxel the viewer starts at: the one whose planes arrive first. */
  readonly centerVoxel: [number, number, number];
  /** Values to take window percentiles from while the volume is still arriving: the centre planes. */
  private sample?: ArrayLike<number>[];
  /** Received bytes per stored slice (index t * nz + k), to tell which slices can be shown. */
  private readonly slabBytes?: Uint32Array;
  private readonly slabSize: number;

  /** A whole volume (`buffer` holds every voxel), or one that is still arriving (`streaming`, then insert()). */
  constructor(readonly meta: VolumeMeta, buffer: ArrayBuffer, preview?: CenterPlanes, streaming = !!preview) {
    this.data = typedVoxels(meta.dataType, buffer);
    this.canon = canonical(meta.affine, meta.dims);
    this.isColor = meta.dataType === 'rgb24';
    const [nx, ny, nz] = meta.dims;
    this.slabSize = nx * ny * this.data.BYTES_PER_ELEMENT * (this.isColor ? 3 : 1);
    this.loaded = streaming ? 0 : buffer.byteLength;
    if (streaming) this.slabBytes = new Uint32Array(nz * meta.frames);
    this.centerVoxel = preview?.center ?? [nx >> 1, ny >> 1, nz >> 1];
    if (preview) this.addCenterPlanes(preview);
  }

  /** The three planes through the centre voxel, all final (they show before the rest), and the final range if known. */
  addCenterPlanes(preview: CenterPlanes, range?: [number, number]): void {
    this.sample = preview.planes.map((p) => typedVoxels(this.meta.dataType, p));
    this.insertPlanes(preview);
    if (range) this.meta.range = range;
    this.sorted = undefined; // percentiles from the planes now
    this.version++;
  }

  get complete(): boolean {
    return this.loaded >= this.data.byteLength;
  }

  /** Copies received voxel bytes into place. */
  insert(offset: number, bytes: ArrayBuffer): void {
    new Uint8Array(this.data.buffer, this.data.byteOffset).set(new Uint8Array(bytes), offset);
    this.loaded += bytes.byteLength;
    this.version++;
    const counts = this.slabBytes;
    if (!counts) return;
    const s = this.slabSize;
    for (let at = offset, end = offset + bytes.byteLength; at < end; ) {
      const slab = Math.floor(at / s);
      const next = Math.min(end, (slab + 1) * s);
      counts[slab] += next - at;
      at = next;
    }
  }

  private slabReady(index: number): boolean {
    return !this.slabBytes || this.slabBytes[index] >= this.slabSize;
  }

  /** Whether every voxel a plane's slice shows has arrived (the centre planes of a preview count as arrived). */
  planeReady(plane: Plane, slice: number, frame: number): boolean {
    if (!this.slabBytes || this.complete) return true;
    const c = this.canon;
    const w = THROUGH[plane];
    if (this.sample && slice === voxelToCanonicalAxis(c, this.centerVoxel, w) && frame === 0) return true;
    if (c.axis[w] !== 2) return false; // the slice cuts across stored slices: needs them all
    const k = c.flip[w] ? c.size[w] - 1 - slice : slice;
    return this.slabReady(frame * this.dims[2] + k);
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

  get dims() {
    return this.meta.dims;
  }

  layout(plane: Plane, radiological: boolean) {
    return sliceLayout(this.canon, plane, radiological);
  }

  /** Stored values of one slice, into `out` (reused by the caller; RGB interleaved for colour). */
  extract(plane: Plane, radiological: boolean, slice: number, frame: number, out: VoxelArray): void {
    extractSlice(this.canon, this.dims, this.data, plane, radiological, slice, out, frame, this.isColor ? 3 : 1);
  }

  /** A stored-type array for one slice of a plane (the caller keeps and reuses it). */
  sliceBuffer(width: number, height: number, old?: VoxelArray): VoxelArray {
    const n = width * height * (this.isColor ? 3 : 1);
    if (old && old.length === n) return old;
    const Ctor = this.data.constructor as new (n: number) => VoxelArray;
    return new Ctor(n);
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

  /**
   * Real value at a fraction of the sorted voxel values (for automatic windowing), from a sub-sample: while the volume
   * arrives, of what is in (the centre planes, or the slices received); once complete, of the whole volume.
   */
  percentile(p: number): number {
    if (this.percentilesStale) {
      const c = this.isColor ? 3 : 1;
      const sources: ArrayLike<number>[] = [];
      if (this.complete || !this.slabBytes) sources.push(this.data);
      else if (this.sample) sources.push(...this.sample);
      else {
        const per = this.slabSize / this.data.BYTES_PER_ELEMENT;
        for (let s = 0; s < this.slabBytes.length; s++) if (this.slabReady(s)) sources.push(this.data.subarray(s * per, (s + 1) * per));
      }
      const n = sources.reduce((a, s) => a + s.length / c, 0);
      const step = Math.max(1, Math.floor(n / 200_000));
      const s = new Float32Array(Math.ceil(n / step) + sources.length);
      const r = this.meta.rescale;
      let o = 0;
      for (const src of sources) {
        for (let i = 0; i < src.length / c; i += step) {
          const v = src[c * i];
          if (v === v) s[o++] = r ? v * r.slope + r.intercept : v;
        }
      }
      this.sorted = s.subarray(0, o).sort();
      this.sortedComplete = this.complete;
    }
    const s = this.sorted!;
    if (s.length === 0) return 0;
    return s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  }

  /** True when percentiles would now come from more data than last time: nothing yet, a first slice, or everything. */
  get percentilesStale(): boolean {
    return !this.sorted || (this.complete && !this.sortedComplete) || (this.sorted.length === 0 && this.loaded > 0);
  }
}

/** Canonical index of a voxel along world axis w. */
function voxelToCanonicalAxis(c: Canonical, v: readonly number[], w: number): number {
  const x = v[c.axis[w]];
  return c.flip[w] ? c.size[w] - 1 - x : x;
}
