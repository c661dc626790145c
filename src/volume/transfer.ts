/**
 * Volume <-> plain transferable form: metadata as JSON-safe fields and the voxels as one ArrayBuffer. Crosses worker
 * threads and the webview boundary without copying voxel data into JSON.
 */
import type { CenterPlanes, VolumeMeta, VoxelType } from '../protocol';
import { type Study, Volume, type VoxelArray } from './volume';

export interface TransferVolume {
  meta: VolumeMeta;
  data: ArrayBuffer;
}

export function volumeMeta(v: Volume): VolumeMeta {
  return {
    name: v.name,
    format: v.format,
    modality: v.modality,
    description: v.description,
    dims: [...v.dims],
    frames: v.frames,
    dataType: v.dataType as VoxelType,
    affine: [...v.affine],
    spacing: [...v.spacing],
    orientation: v.orientation,
    rescale: v.rescale,
    range: v.range(),
    invertDisplay: v.invertDisplay,
    header: v.header,
    warnings: v.warnings,
    files: v.sources.length,
  };
}

/** The voxel bytes as a standalone ArrayBuffer (no copy when the array already owns its whole buffer). */
export function voxelBuffer(data: VoxelArray): ArrayBuffer {
  const b = data.buffer as ArrayBuffer;
  return data.byteOffset === 0 && data.byteLength === b.byteLength ? b : b.slice(data.byteOffset, data.byteOffset + data.byteLength);
}

export const toTransfer = (v: Volume): TransferVolume => ({ meta: volumeMeta(v), data: voxelBuffer(v.data) });

export interface TransferStudy {
  name: string;
  warnings: string[];
  volumes: TransferVolume[];
}

export const studyToTransfer = (s: Study): TransferStudy => ({ name: s.name, warnings: s.warnings, volumes: s.volumes.map(toTransfer) });

const CTORS: Record<VoxelType, new (b: ArrayBuffer) => VoxelArray> = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array,
  float32: Float32Array, float64: Float64Array, rgb24: Uint8Array,
};

/** A typed view of received voxels in their stored type. */
export const typedVoxels = (t: VoxelType, data: ArrayBuffer): VoxelArray => new CTORS[t](data);

/** A Volume again on the receiving side (the host runs HLIP pre-processing on what the volume worker read). */
export function fromTransfer(t: TransferVolume): Volume {
  const m = t.meta;
  return new Volume({
    name: m.name, format: m.format, sources: [], dims: m.dims, frames: m.frames, components: m.dataType === 'rgb24' ? 3 : 1,
    data: typedVoxels(m.dataType, t.data), rescale: m.rescale, affine: m.affine, modality: m.modality, header: m.header,
    warnings: m.warnings, invertDisplay: m.invertDisplay, description: m.description,
  });
}

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
