/**
 * Voxels in flight: a volume as its metadata plus one ArrayBuffer, which crosses worker threads and the webview boundary
 * without a copy into JSON. The readers make these (src/volume/to-transfer.ts); the host and the webview read them.
 */
import type { CenterPlanes, VolumeMeta, VoxelArray, VoxelType } from './volume-meta';

export interface TransferVolume {
  meta: VolumeMeta;
  data: ArrayBuffer;
}

export interface TransferStudy {
  name: string;
  warnings: string[];
  volumes: TransferVolume[];
}

/** The voxel bytes as a standalone ArrayBuffer (no copy when the array already owns its whole buffer). */
export function voxelBuffer(data: VoxelArray): ArrayBuffer {
  const b = data.buffer as ArrayBuffer;
  return data.byteOffset === 0 && data.byteLength === b.byteLength ? b : b.slice(data.byteOffset, data.byteOffset + data.byteLength);
}

const CTORS: Record<VoxelType, new (b: ArrayBuffer) => VoxelArray> = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array,
  float32: Float32Array, float64: Float64Array, rgb24: Uint8Array,
};

/** A typed view of received voxels in their stored type. */
export const typedVoxels = (t: VoxelType, data: ArrayBuffer): VoxelArray => new CTORS[t](data);

/** The three planes through the centre voxel of frame 0 (see CenterPlanes), copied out of the stored array. */
export function centerPlanes(meta: VolumeMeta, data: ArrayBuffer): CenterPlanes {
  const [nx, ny, nz] = meta.dims;
  const c = meta.dataType === 'rgb24' ? 3 : 1;
  const src = typedVoxels(meta.dataType, data);
  const Ctor = src.constructor as new (n: number) => VoxelArray;
  const center: [number, number, number] = [nx >> 1, ny >> 1, nz >> 1];
  const at = (i: number, j: number, k: number) => ((k * ny + j) * nx + i) * c;
  const pi = new Ctor(ny * nz * c);
  const pj = new Ctor(nx * nz * c);
  const pk = src.slice(at(0, 0, center[2]), at(0, 0, center[2]) + nx * ny * c);
  for (let k = 0, o = 0; k < nz; k++) for (let j = 0; j < ny; j++, o += c) pi.set(src.subarray(at(center[0], j, k), at(center[0], j, k) + c), o);
  for (let k = 0; k < nz; k++) pj.set(src.subarray(at(0, center[1], k), at(0, center[1], k) + nx * c), k * nx * c);
  return { center, planes: [pi.buffer as ArrayBuffer, pj.buffer as ArrayBuffer, pk.buffer as ArrayBuffer] };
}
