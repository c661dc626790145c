/**
 * Index / weight tables that reproduce torch.nn.functional.interpolate on CPU (torch 1.13 - 2.x, antialias off,
 * align_corners=False), and separable 1-D resampling along one axis of a C-order 3-D array.
 *
 * Torch computes the tables in float32: scale = float(in) / out, src = float(scale * (dst + 0.5) - 0.5). Math.fround
 * reproduces that, so the chosen source indices are the same as torch's even where a coordinate lands on an integer.
 */

const f32 = Math.fround;

/** Linear interpolation along one axis: out[o] = w0[o] * in[i0[o]] + w1[o] * in[i1[o]]. */
export interface LinearTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

/** Torch's 'linear' / 'bilinear' / 'trilinear' weights for one axis (align_corners=False, no antialias). */
export function torchLinearTable(inLen: number, outLen: number): LinearTable {
  const t: LinearTable = {
    i0: new Int32Array(outLen),
    i1: new Int32Array(outLen),
    w0: new Float64Array(outLen),
    w1: new Float64Array(outLen),
  };
  const scale = f32(inLen / outLen);
  for (let o = 0; o < outLen; o++) {
    let src = f32(scale * (o + 0.5) - 0.5);
    if (src < 0) src = 0;
    const i0 = Math.min(Math.floor(src), inLen - 1);
    const lambda = Math.min(Math.max(f32(src - i0), 0), 1);
    t.i0[o] = i0;
    t.i1[o] = i0 < inLen - 1 ? i0 + 1 : i0;
    t.w1[o] = lambda;
    t.w0[o] = f32(1 - lambda);
  }
  return t;
}

/** Torch's mode='nearest-exact': src = min(floor(float((dst + 0.5) * scale)), in - 1). */
export function torchNearestExact(inLen: number, outLen: number): Int32Array {
  const out = new Int32Array(outLen);
  const scale = f32(inLen / outLen);
  for (let o = 0; o < outLen; o++) out[o] = Math.min(Math.floor(f32((o + 0.5) * scale)), inLen - 1);
  return out;
}

/** Restricts a table to output positions [start, start + len) (a crop applied after the resize). */
export function sliceTable(t: LinearTable, start: number, len: number): LinearTable {
  return { i0: t.i0.slice(start, start + len), i1: t.i1.slice(start, start + len), w0: t.w0.slice(start, start + len), w1: t.w1.slice(start, start + len) };
}

/**
 * Shifts a table's source indices by -offset (the source was zero-padded by `offset` before the resize) and drops
 * references to the padding: a tap that falls outside [0, realLen) gets weight 0 and a harmless index.
 */
export function unpadTable(t: LinearTable, offset: number, realLen: number): LinearTable {
  const n = t.i0.length;
  const r: LinearTable = { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float64Array(n), w1: new Float64Array(n) };
  for (let o = 0; o < n; o++) {
    const a = t.i0[o] - offset, b = t.i1[o] - offset;
    const aOk = a >= 0 && a < realLen, bOk = b >= 0 && b < realLen;
    r.i0[o] = aOk ? a : 0;
    r.i1[o] = bOk ? b : 0;
    r.w0[o] = aOk ? t.w0[o] : 0;
    r.w1[o] = bOk ? t.w1[o] : 0;
  }
  return r;
}

export type Dims3 = [number, number, number];

/**
 * Resamples a C-order array [n0, n1, n2] (n2 fastest) along `axis` with a linear table. Returns the new array; its
 * dims are the old ones with dims[axis] = table length. One pass per axis keeps a trilinear resize O(output).
 */
export function resampleAxis(src: ArrayLike<number>, dims: Dims3, axis: 0 | 1 | 2, t: LinearTable): { data: Float32Array; dims: Dims3 } {
  const [n0, n1, n2] = dims;
  const m = t.i0.length;
  const outDims: Dims3 = [n0, n1, n2];
  outDims[axis] = m;
  const out = new Float32Array(outDims[0] * outDims[1] * outDims[2]);
  const { i0, i1, w0, w1 } = t;
  if (axis === 2) {
    const rows = n0 * n1;
    for (let r = 0; r < rows; r++) {
      const s = r * n2, d = r * m;
      for (let o = 0; o < m; o++) out[d + o] = w0[o] * src[s + i0[o]] + w1[o] * src[s + i1[o]];
    }
  } else if (axis === 1) {
    const plane = n1 * n2, oplane = m * n2;
    for (let a = 0; a < n0; a++) {
      for (let o = 0; o < m; o++) {
        const s0 = a * plane + i0[o] * n2, s1 = a * plane + i1[o] * n2, d = a * oplane + o * n2;
        const a0 = w0[o], a1 = w1[o];
        for (let c = 0; c < n2; c++) out[d + c] = a0 * src[s0 + c] + a1 * src[s1 + c];
      }
    }
  } else {
    const plane = n1 * n2;
    for (let o = 0; o < m; o++) {
      const s0 = i0[o] * plane, s1 = i1[o] * plane, d = o * plane;
      const a0 = w0[o], a1 = w1[o];
      for (let c = 0; c < plane; c++) out[d + c] = a0 * src[s0 + c] + a1 * src[s1 + c];
    }
  }
  return { data: out, dims: outDims };
}

/**
 * 2-D linear resize of one plane [h, w] -> [tH.length, tW.length]: W taps first, then H, as torch's bilinear kernel
 * nests them. Float32Array only, so the loops stay monomorphic.
 */
export function resample2d(src: Float32Array, h: number, w: number, tH: LinearTable, tW: LinearTable, tmp?: Float32Array): Float32Array {
  const ow = tW.i0.length, oh = tH.i0.length;
  const mid = tmp && tmp.length >= h * ow ? tmp : new Float32Array(h * ow);
  const { i0, i1, w0, w1 } = tW;
  for (let y = 0; y < h; y++) {
    const s = y * w, d = y * ow;
    for (let o = 0; o < ow; o++) mid[d + o] = w0[o] * src[s + i0[o]] + w1[o] * src[s + i1[o]];
  }
  const out = new Float32Array(oh * ow);
  for (let o = 0; o < oh; o++) {
    const s0 = tH.i0[o] * ow, s1 = tH.i1[o] * ow, d = o * ow;
    const a0 = tH.w0[o], a1 = tH.w1[o];
    for (let x = 0; x < ow; x++) out[d + x] = a0 * mid[s0 + x] + a1 * mid[s1 + x];
  }
  return out;
}
