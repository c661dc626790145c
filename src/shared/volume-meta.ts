/**
 * What the readers, the host and the webview all know about a volume, apart from its voxels: plain JSON-safe types so
 * they cross worker threads and the webview boundary as they are. Nothing here imports anything.
 */

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export type VoxelType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64' | 'rgb24';

/** One line of the header panel: NIfTI field or DICOM element. Plain strings so it crosses to the webview as is. */
export interface HeaderField {
  name: string;
  value: string;
  tag?: string; // DICOM "(gggg,eeee)"
}

/** Everything about a volume except its voxels. */
export interface VolumeMeta {
  name: string;
  format: 'nifti' | 'dicom';
  modality: string;
  description?: string;
  dims: [number, number, number];
  frames: number;
  dataType: VoxelType;
  /** Row-major 4x4, voxel index -> RAS+ mm. */
  affine: number[];
  spacing: [number, number, number];
  orientation: string;
  rescale: { slope: number; intercept: number } | null;
  /** Real-value range over all frames. */
  range: [number, number];
  invertDisplay: boolean;
  header: HeaderField[];
  warnings: string[];
  files: number;
}

/**
 * The three stored-grid planes through voxel `center` (frame 0, components interleaved): i = center[0] (ny x nz values,
 * j fastest), j = center[1] (nx x nz, i fastest), k = center[2] (nx x ny, i fastest). Every displayed plane through the
 * centre is one of them, so the viewer paints before the rest of the voxels arrive.
 */
export interface CenterPlanes {
  center: [number, number, number];
  planes: [ArrayBuffer, ArrayBuffer, ArrayBuffer];
}
