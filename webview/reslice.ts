/**
 * Display geometry: the three planes in world (RAS) orientation, taken from a voxel grid in any storage order.
 * Each voxel axis is assigned to its nearest world axis (as nibabel's as_closest_canonical), so a slice is a plain
 * strided walk through the stored array: no resampling, no interpolation, exact voxel values.
 * Pure functions, no DOM: unit-tested in Node.
 */
export type Plane = 'axial' | 'coronal' | 'sagittal';
export const PLANES: readonly Plane[] = ['axial', 'coronal', 'sagittal'];

/** For world axis w (0=R, 1=A, 2=S): which voxel axis runs along it and whether it runs backwards (toward L/P/I). */
export interface Canonical {
  axis: [number, number, number];
  flip: [boolean, boolean, boolean];
  /** Sizes along R, A, S. */
  size: [number, number, number];
  /** Voxel spacing along R, A, S (mm). */
  spacing: [number, number, number];
}

export function canonical(affine: number[], dims: readonly number[]): Canonical {
  const cols = [0, 1, 2].map((j) => [affine[j], affine[4 + j], affine[8 + j]]);
  const axis: number[] = [-1, -1, -1];
  const flip = [false, false, false];
  const used = new Set<number>();
  // Greedy on the largest |cosine| so each voxel axis gets one world axis even for oblique grids.
  const pairs: [number, number, number][] = [];
  for (let j = 0; j < 3; j++) {
    const n = Math.hypot(...cols[j]) || 1;
    for (let w = 0; w < 3; w++) pairs.push([Math.abs(cols[j][w]) / n, j, w]);
  }
  pairs.sort((a, b) => b[0] - a[0]);
  for (const [, j, w] of pairs) {
    if (used.has(j) || axis[w] >= 0) continue;
    axis[w] = j;
    flip[w] = cols[j][w] < 0;
    used.add(j);
  }
  const spacing = axis.map((j) => Math.hypot(...cols[j]) || 1) as [number, number, number];
  return {
    axis: axis as [number, number, number],
    flip: flip as [boolean, boolean, boolean],
    size: axis.map((j) => dims[j]) as [number, number, number],
    spacing,
  };
}

/** Which world axes a plane shows: [across (screen x), down (screen y), through (slice)]. */
const PLANE_AXES: Record<Plane, [number, number, number]> = {
  axial: [0, 1, 2], // R-L across, A-P down, S-I through
  coronal: [0, 2, 1], // R-L across, S-I down
  sagittal: [1, 2, 0], // A-P across, S-I down
};

export interface SliceLayout {
  width: number;
  height: number;
  /** Pixel spacing on screen: [across, down] in mm. */
  spacing: [number, number];
  /** Number of slices through the plane. */
  depth: number;
  /** Screen-edge labels: [left, right, top, bottom]. */
  labels: [string, string, string, string];
}

const POS = ['R', 'A', 'S'];
const NEG = ['L', 'P', 'I'];

/**
 * Screen convention. Radiological: the patient's right on the screen's left in axial and coronal views (as a
 * radiologist faces the patient). Neurological: right on the right. Sagittal views show anterior on the left in both.
 * Superior is up and anterior is up (axial) in all views.
 */
export function sliceLayout(c: Canonical, plane: Plane, radiological: boolean): SliceLayout {
  const [a, d, t] = PLANE_AXES[plane];
  const leftIsPositive = plane === 'sagittal' ? true : radiological;
  return {
    width: c.size[a],
    height: c.size[d],
    spacing: [c.spacing[a], c.spacing[d]],
    depth: c.size[t],
    labels: [
      leftIsPositive ? POS[a] : NEG[a],
      leftIsPositive ? NEG[a] : POS[a],
      POS[d], // top is the positive end (A in axial, S otherwise)
      NEG[d],
    ],
  };
}

/**
 * World-canonical index (along R, A, S; 0 = the L/P/I end) of screen pixel (x, y) on slice `s` of a plane.
 */
export function screenToCanonical(c: Canonical, plane: Plane, radiological: boolean, x: number, y: number, s: number): [number, number, number] {
  const [a, d, t] = PLANE_AXES[plane];
  const leftIsPositive = plane === 'sagittal' ? true : radiological;
  const out: [number, number, number] = [0, 0, 0];
  out[a] = leftIsPositive ? c.size[a] - 1 - x : x;
  out[d] = c.size[d] - 1 - y;
  out[t] = s;
  return out;
}

/** Screen position (x, y) and slice of a canonical index on a plane: the inverse of screenToCanonical. */
export function canonicalToScreen(c: Canonical, plane: Plane, radiological: boolean, p: readonly number[]): [number, number, number] {
  const [a, d, t] = PLANE_AXES[plane];
  const leftIsPositive = plane === 'sagittal' ? true : radiological;
  return [leftIsPositive ? c.size[a] - 1 - p[a] : p[a], c.size[d] - 1 - p[d], p[t]];
}

/** Voxel index (i, j, k) in the stored grid of a canonical index. */
export function canonicalToVoxel(c: Canonical, p: readonly number[]): [number, number, number] {
  const v: [number, number, number] = [0, 0, 0];
  for (let w = 0; w < 3; w++) v[c.axis[w]] = c.flip[w] ? c.size[w] - 1 - p[w] : p[w];
  return v;
}

export function voxelToCanonical(c: Canonical, v: readonly number[]): [number, number, number] {
  const p: [number, number, number] = [0, 0, 0];
  for (let w = 0; w < 3; w++) p[w] = c.flip[w] ? c.size[w] - 1 - v[c.axis[w]] : v[c.axis[w]];
  return p;
}

type Indexable = { readonly length: number; [i: number]: number };

/**
 * Copies one slice of one frame into `out` (width * height * components values, row-major from the top-left screen
 * pixel). `data` is the stored array (x fastest), `components` 1 or 3 (RGB interleaved).
 */
export function extractSlice(
  c: Canonical,
  dims: readonly number[],
  data: Indexable,
  plane: Plane,
  radiological: boolean,
  slice: number,
  out: Indexable,
  frame = 0,
  components = 1,
): void {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const frameOffset = frame * dims[0] * dims[1] * dims[2];
  // Stride and start of each world axis in the stored array.
  const wStride = [0, 1, 2].map((w) => (c.flip[w] ? -strides[c.axis[w]] : strides[c.axis[w]]));
  const wStart = [0, 1, 2].map((w) => (c.flip[w] ? (c.size[w] - 1) * strides[c.axis[w]] : 0));
  const [a, d, t] = PLANE_AXES[plane];
  const leftIsPositive = plane === 'sagittal' ? true : radiological;
  const W = c.size[a];
  const H = c.size[d];
  // Screen x -> canonical along a; screen y -> canonical along d (top = positive end).
  const xStep = leftIsPositive ? -wStride[a] : wStride[a];
  const x0 = wStart[a] + (leftIsPositive ? (W - 1) * wStride[a] : 0);
  const yStep = -wStride[d];
  const y0 = wStart[d] + (H - 1) * wStride[d];
  const base = frameOffset + wStart[t] + slice * wStride[t] + x0 + y0;
  let o = 0;
  if (components === 1) {
    for (let y = 0; y < H; y++) {
      let p = base + y * yStep;
      for (let x = 0; x < W; x++, p += xStep) out[o++] = data[p];
    }
  } else {
    for (let y = 0; y < H; y++) {
      let p = base + y * yStep;
      for (let x = 0; x < W; x++, p += xStep) {
        out[o++] = data[3 * p];
        out[o++] = data[3 * p + 1];
        out[o++] = data[3 * p + 2];
      }
    }
  }
}
