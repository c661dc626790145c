/**
 * Volume <-> plain transferable form: metadata as JSON-safe fields and the voxels as one ArrayBuffer. Crosses worker
 * threads and the webview boundary without copying voxel data into JSON.
 */
import type { VolumeMeta, VoxelType } from '../protocol';
import type { Study, Volume, VoxelArray } from './volume';

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
