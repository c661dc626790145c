/**
 * NumPy .npy files (format 1.0 written; 1.0-3.0 read): little-endian float32 / int64 / int32 / uint8, C order.
 * Used to exchange embeddings with Python (tests, `hlip embed`).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type NpyDtype = 'float32' | 'int64' | 'int32' | 'uint8';
export type NpyData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const DESCR: Record<NpyDtype, string> = { float32: '<f4', int64: '<i8', int32: '<i4', uint8: '|u1' };
const FROM_DESCR: Record<string, NpyDtype> = { '<f4': 'float32', '<i8': 'int64', '<i4': 'int32', '|u1': 'uint8', '<u1': 'uint8' };
const SIZE: Record<NpyDtype, number> = { float32: 4, int64: 8, int32: 4, uint8: 1 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export class NpyError extends Error {}

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

/** Serialises an array; shape defaults to 1-D. The host must be little-endian (every platform Node ships on). */
export function encodeNpy(data: NpyData, shape: readonly number[] = [data.length]): Uint8Array {
  const dtype = dtypeOf(data);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces so magic + version + length + header ends on a 64-byte boundary (numpy's alignment), then '\n'.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new NpyError('header too long for format 1.0');
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + header.length + bytes.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(bytes, 10 + header.length);
  return out;
}

export function decodeNpy(buf: Uint8Array): NpyArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw new NpyError('not a .npy file (bad magic)');
  const major = buf[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf[8] | (buf[9] << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = (buf[8] | (buf[9] << 8) | (buf[10] << 16)) + buf[11] * 0x1000000;
    start = 12;
  } else throw new NpyError(`unsupported .npy version ${major}.${buf[7]}`);
  if (start + headerLen > buf.length) throw new NpyError('truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeStr === undefined) throw new NpyError(`unreadable .npy header: ${header.trim()}`);
  const dtype = FROM_DESCR[descr];
  if (!dtype) throw new NpyError(`unsupported dtype ${descr} (float32, int64, int32, uint8 little-endian only)`);
  if (fortran === 'True') throw new NpyError('Fortran-order arrays are not supported');
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpyError(`bad shape (${shapeStr})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const nbytes = count * SIZE[dtype];
  if (offset + nbytes > buf.length) throw new NpyError(`truncated .npy data: ${buf.length - offset} of ${nbytes} bytes`);
  // Copy (the data offset need not be aligned for the typed array); not buf.slice: on a Buffer that is a view.
  const copy = new Uint8Array(nbytes);
  copy.set(buf.subarray(offset, offset + nbytes));
  const raw = copy.buffer;
  const data =
    dtype === 'float32' ? new Float32Array(raw) : dtype === 'int64' ? new BigInt64Array(raw) : dtype === 'int32' ? new Int32Array(raw) : new Uint8Array(raw);
  return { dtype, shape, data };
}

export const readNpy = (path: string): NpyArray => decodeNpy(readFileSync(path));
export const writeNpy = (path: string, data: NpyData, shape?: readonly number[]): void => writeFileSync(path, encodeNpy(data, shape));
