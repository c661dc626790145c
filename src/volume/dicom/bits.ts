import type { VoxelArray } from '../../shared/volume-meta';
import type { FrameInfo } from './frame-info';

type StoredBits = Pick<FrameInfo, 'bitsAllocated' | 'bitsStored' | 'pixelRepresentation' | 'samplesPerPixel'>;

/**
 * In place: clears the bits above BitsStored (some modalities keep overlays there) and sign-extends signed values whose
 * BitsStored is narrower than the container (a 12-bit signed CT in 16-bit words).
 */
export function fixStoredBits(a: VoxelArray, p: StoredBits): void {
  const stored = p.bitsStored;
  if (p.samplesPerPixel !== 1 || stored >= p.bitsAllocated || stored <= 0 || a instanceof Float32Array || a instanceof Float64Array) return;
  const mask = stored >= 32 ? 0xffffffff : 2 ** stored - 1;
  if (p.pixelRepresentation === 1) {
    const shift = 32 - stored;
    for (let i = 0; i < a.length; i++) a[i] = ((a[i] & mask) << shift) >> shift;
  } else {
    for (let i = 0; i < a.length; i++) a[i] = a[i] & mask;
  }
}
