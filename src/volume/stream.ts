/**
 * Following a volume while it is read (ReadOptions.progress): the NIfTI side. A .nii.gz inflates into one buffer of
 * its final size; once the header and the centre slice are in, the volume is parsed over that buffer (its voxels a view
 * on it) and announced, the centre slice's bytes first, then the rest as they inflate. Files whose voxels need
 * converting (big-endian, 64-bit integers, a misaligned offset) are not views on the buffer and are not followed.
 */
import type { ReadProgress } from './limits';
import type { Volume } from './volume';

export function followInflation(progress: ReadProgress, parse: (whole: Uint8Array) => Volume): (out: Buffer, filled: number) => void {
  let state: 'waiting' | 'following' | 'off' = 'waiting';
  let v: Volume | undefined;
  let start = 0; // byte offset of the voxels in `out`
  let centre: [number, number] = [0, 0]; // the centre slice's bytes, relative to the voxels
  let sent = 0; // voxel bytes reported, apart from the centre slice
  return (out, filled) => {
    if (state === 'off') return;
    if (!v) {
      if (filled < Math.min(out.length, 64 * 1024)) return; // header and extensions first
      try {
        v = parse(out);
      } catch {
        state = 'off'; // the final parse reports what is wrong
        return;
      }
      const d = v.data;
      if (d.buffer !== out.buffer || d.byteLength === 0) {
        state = 'off';
        return;
      }
      start = d.byteOffset - out.byteOffset;
      const slab = d.byteLength / (v.dims[2] * v.frames);
      const k = v.dims[2] >> 1;
      centre = [k * slab, (k + 1) * slab];
    }
    const have = Math.min(filled - start, v.data.byteLength);
    if (state === 'waiting') {
      if (have < centre[1]) return;
      if (!progress.started(v, v.dims[2] >> 1)) {
        state = 'off';
        return;
      }
      state = 'following';
      progress.arrived(v, centre[0], centre[1]);
    }
    // Everything in so far, around the centre slice already reported.
    if (sent < centre[0]) {
      const to = Math.min(have, centre[0]);
      if (to > sent) progress.arrived(v, sent, to);
      sent = to;
    }
    if (sent >= centre[0] && have > Math.max(sent, centre[1])) {
      progress.arrived(v, Math.max(sent, centre[1]), have);
      sent = have;
    }
  };
}
