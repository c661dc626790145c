/** Tensors as read from a checkpoint: plain typed arrays, row-major (C order), no framework. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export interface HostTensor {
  /** Element type as stored in the file (float16 / bfloat16 are kept as Uint16Array bit patterns). */
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** A state dict: parameter name -> tensor, names as PyTorch wrote them after unwrapping (see checkpoint/). */
export type TensorMap = Map<string, HostTensor>;

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The tensor's values as float32 (a view when already float32). Half / bfloat16 are widened exactly. */
export function toFloat32(t: HostTensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  const n = d.length;
  const out = new Float32Array(n);
  if (t.dtype === 'bfloat16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = (d as Uint16Array)[i] << 16;
  } else if (t.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat((d as Uint16Array)[i]);
  } else if (d instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(d[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = (d as Float64Array)[i];
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
