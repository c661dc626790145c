/**
 * Intensity steps of HLIP's pre-processing, written to give numpy's numbers:
 * - percentiles as np.percentile (method 'linear'), from exact order statistics (a histogram for 8/16-bit data, a
 *   quickselect otherwise; no full sort, so a 256^3 volume takes tens of milliseconds);
 * - HLIP's clip_by_percentile min-max ((x - min) / (max - min + 1e-8)) in float64, or in float32 where SimpleITK
 *   would hand numpy a float32 array (float32 files, and scaled files, which ITK reads as float32);
 * - the uint8 quantisation of the stored scans.
 */
import type { VoxelArray } from '../../shared/volume-meta';

const f32 = Math.fround;

/** The real values of one frame: stored * slope + intercept; `float32` when the array numpy would see is float32. */
export interface RealSource {
  data: VoxelArray;
  slope: number;
  intercept: number;
  float32: boolean;
}

/** Rounding of the [0, 1] intensities to uint8 as stored by HLIP's pre-processing; 'none' keeps floats. */
export type Quantize = 'trunc' | 'round' | 'none';

export function realSource(data: VoxelArray, rescale: { slope: number; intercept: number } | null): RealSource {
  return {
    data,
    slope: rescale ? rescale.slope : 1,
    intercept: rescale ? rescale.intercept : 0,
    float32: data instanceof Float32Array || !!rescale,
  };
}

/** Stored -> real value, rounded to float32 when the source is float32 (as Volume.toFloat32 and ITK do). */
export function realValue(s: RealSource, v: number): number {
  const r = s.slope === 1 && s.intercept === 0 ? v : v * s.slope + s.intercept;
  return s.float32 ? f32(r) : r;
}

/**
 * np.percentile(values, ps) with numpy's default 'linear' method (numpy >= 1.22 _lerp). NaNs are ignored (numpy would
 * return NaN). Returns [] entries of NaN only when every value is NaN.
 */
export function percentiles(s: RealSource, ps: number[]): number[] {
  const pair = orderStatistics(s);
  return ps.map((p) => {
    if (pair.count === 0) return NaN;
    const vi = (pair.count - 1) * (p / 100);
    const prev = Math.floor(vi);
    const gamma = vi - prev;
    const [a, b] = pair.at(prev);
    // numpy subtracts in the array's dtype, then interpolates in float64 from the nearer end.
    const diff = s.float32 ? f32(b - a) : b - a;
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
  });
}

interface OrderStats {
  count: number;
  /** The k-th and (k+1)-th smallest real values (0-based; the latter clamped to the last). */
  at(k: number): [number, number];
}

function orderStatistics(s: RealSource): OrderStats {
  const d = s.data;
  const negative = s.slope < 0; // a negative slope reverses the order of stored vs real values
  if (d instanceof Int16Array || d instanceof Uint16Array || d instanceof Uint8Array || d instanceof Int8Array) {
    const offset = d instanceof Int16Array ? 32768 : d instanceof Int8Array ? 128 : 0;
    const size = d instanceof Uint8Array || d instanceof Int8Array ? 256 : 65536;
    const counts = histogram(d, offset, size);
    const cum = new Float64Array(size);
    let acc = 0;
    for (let b = 0; b < size; b++) cum[b] = acc += counts[b];
    const n = d.length;
    const stored = (kk: number) => {
      let lo = 0, hi = size - 1; // first bin whose cumulative count exceeds kk
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] > kk) hi = mid;
        else lo = mid + 1;
      }
      return lo - offset;
    };
    const kth = (k: number) => realValue(s, stored(negative ? n - 1 - k : k));
    return { count: n, at: (k) => [kth(k), kth(Math.min(k + 1, n - 1))] };
  }
  // Wider or float types: quickselect on a NaN-free copy of the stored values.
  const copy = d instanceof Float32Array ? new Float32Array(d.length) : new Float64Array(d.length);
  let n = 0;
  for (let p = 0; p < d.length; p++) {
    const v = d[p];
    if (v === v) copy[n++] = v;
  }
  const arr = copy.subarray(0, n);
  return {
    count: n,
    at(k: number): [number, number] {
      const kk = negative ? n - 1 - k : k;
      const a = select(arr, kk, 0, n - 1);
      // After the select, the neighbour in value order is the extreme of the part on the far side of kk.
      let b = a;
      if (!negative && kk + 1 < n) {
        b = Infinity;
        for (let p = kk + 1; p < n; p++) if (arr[p] < b) b = arr[p];
      } else if (negative && kk > 0) {
        b = -Infinity;
        for (let p = 0; p < kk; p++) if (arr[p] > b) b = arr[p];
      }
      return [realValue(s, a), realValue(s, b)];
    },
  };
}

function histogram(d: Int16Array | Uint16Array | Uint8Array | Int8Array, offset: number, size: number): Uint32Array {
  const counts = new Uint32Array(size);
  const n = d.length;
  for (let p = 0; p < n; p++) counts[d[p] + offset]++;
  return counts;
}

/** Quickselect (Numerical Recipes' select: median-of-three, Hoare partition; copes with many equal values). */
function select(arr: Float32Array | Float64Array, k: number, l: number, ir: number): number {
  for (;;) {
    if (ir <= l + 1) {
      if (ir === l + 1 && arr[ir] < arr[l]) swap(arr, l, ir);
      return arr[k];
    }
    const mid = (l + ir) >> 1;
    swap(arr, mid, l + 1);
    if (arr[l] > arr[ir]) swap(arr, l, ir);
    if (arr[l + 1] > arr[ir]) swap(arr, l + 1, ir);
    if (arr[l] > arr[l + 1]) swap(arr, l, l + 1);
    let i = l + 1, j = ir;
    const a = arr[l + 1];
    for (;;) {
      do i++; while (arr[i] < a);
      do j--; while (arr[j] > a);
      if (j < i) break;
      swap(arr, i, j);
    }
    arr[l + 1] = arr[j];
    arr[j] = a;
    if (j >= k) ir = j - 1;
    if (j <= k) l = i;
  }
}

function swap(a: Float32Array | Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * HLIP's clip_by_percentile followed by the uint8 storage and the loader's /255, as one function of a real value.
 * lo, hi: the 0.5 / 99.5 percentiles. A constant scan (lo == hi) gives 0 everywhere, as HLIP's +1e-8 does.
 */
export function minMaxNormaliser(lo: number, hi: number, float32: boolean, quantize: Quantize): (v: number) => number {
  if (float32) {
    // np.clip casts the float64 bounds to the float32 array's type; min/max are then float32 scalars and the
    // "+ 1e-8" denominator is a float64 scalar that the array division casts back to float32.
    const l = f32(lo), h = f32(hi);
    const den = f32(f32(h - l) + 1e-8);
    return (v: number) => {
      const c = v < l ? l : v > h ? h : v !== v ? l : v;
      const x = f32(f32(c - l) / den);
      return quantise(x, true, quantize);
    };
  }
  const den = hi - lo + 1e-8;
  return (v: number) => {
    const c = v < lo ? lo : v > hi ? hi : v !== v ? lo : v;
    return quantise((c - lo) / den, false, quantize);
  };
}

/** A CT window [center - width/2, center + width/2] -> [0, 1], clipped, then the same uint8 storage as MRI. */
export function windowNormaliser(center: number, width: number, quantize: Quantize): (v: number) => number {
  const lo = center - width / 2;
  return (v: number) => {
    let x = (v - lo) / width;
    x = x < 0 ? 0 : x > 1 ? 1 : x !== x ? 0 : x;
    return quantise(x, false, quantize);
  };
}

/** x in [0, 1] -> the float the model loader sees: uint8(x * 255) / 255 (float32), or float32(x). */
function quantise(x: number, float32: boolean, q: Quantize): number {
  if (q === 'none') return f32(x);
  const y = float32 ? f32(x * 255) : x * 255;
  let u: number;
  if (q === 'trunc') u = Math.floor(y); // ndarray.astype(np.uint8) truncates
  else {
    u = Math.round(y); // np.round: half to even
    if (u - y === 0.5 && u % 2 === 1) u -= 1;
  }
  return f32(u / 255);
}
