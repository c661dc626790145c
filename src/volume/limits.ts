import { totalmem } from 'node:os';
import { VolumeError } from './errors';
import type { Volume } from './volume';

export interface ReadOptions {
  /** Refuse volumes whose decoded voxels would take more bytes than this. */
  maxBytes?: number;
  /** Opening one DICOM file reads every file of its series in the same folder (the viewer's behaviour). */
  wholeSeries?: boolean;
  /** Voxels as they are read, so a viewer paints before the last byte (see src/volume/stream.ts). */
  progress?: ReadProgress;
}

/**
 * Told about a volume whose voxels are filled in place while it is read (NIfTI while it decompresses, a DICOM series
 * slice by slice, the stored slice `first` first). Readers that cannot fill in place simply never call it.
 */
export interface ReadProgress {
  /** The volume's header is known and `v.data` will fill in; false: do not report this volume's bytes. */
  started(v: Volume, first: number): boolean;
  /** Bytes [from, to) of `v.data` (byte offsets into the stored array) hold their final values. */
  arrived(v: Volume, from: number, to: number): void;
}

/** Default guard: half the machine's memory, at most 16 GiB. Reading twice that would swap or crash the host. */
export function defaultMaxBytes(): number {
  return Math.min(totalmem() / 2, 16 * 2 ** 30);
}

const fmt = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** Throws TOO_LARGE before anything is allocated when a header claims an absurd size. */
export function guardAllocation(bytes: number, what: string, opts: ReadOptions = {}, file?: string): void {
  const max = opts.maxBytes ?? defaultMaxBytes();
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new VolumeError('BAD_HEADER', `${what}: the header gives an impossible size`, file);
  }
  if (bytes > max) {
    throw new VolumeError('TOO_LARGE', `${what} would need ${fmt(bytes)} of memory; the limit is ${fmt(max)}`, file);
  }
}
