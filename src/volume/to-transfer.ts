/** Volume <-> its transferable form (src/shared/transfer.ts): the readers' side of the framing. */
import type { VolumeMeta, VoxelType } from '../shared/volume-meta';
import { type TransferStudy, type TransferVolume, typedVoxels, voxelBuffer } from '../shared/transfer';
import { type Study, Volume } from './volume';

/** `range`: when the voxels are still arriving, the range of those in (instead of a pass over all of them). */
export function volumeMeta(v: Volume, range?: [number, number]): VolumeMeta {
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
    range: range ?? v.range(),
    invertDisplay: v.invertDisplay,
    header: v.header,
    warnings: v.warnings,
    files: v.sources.length,
  };
}

export const toTransfer = (v: Volume): TransferVolume => ({ meta: volumeMeta(v), data: voxelBuffer(v.data) });

export const studyToTransfer = (s: Study): TransferStudy => ({ name: s.name, warnings: s.warnings, volumes: s.volumes.map(toTransfer) });

/** A Volume again on the receiving side (the host runs HLIP pre-processing on what the volume worker read). */
export function fromTransfer(t: TransferVolume): Volume {
  const m = t.meta;
  return new Volume({
    name: m.name, format: m.format, sources: [], dims: m.dims, frames: m.frames, components: m.dataType === 'rgb24' ? 3 : 1,
    data: typedVoxels(m.dataType, t.data), rescale: m.rescale, affine: m.affine, modality: m.modality, header: m.header,
    warnings: m.warnings, invertDisplay: m.invertDisplay, description: m.description,
  });
}
