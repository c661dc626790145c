/**
 * DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header (segment count + 15 offsets), then one PackBits segment per
 * byte plane (for each sample, most significant byte first). Returns the planes, each rows*columns bytes.
 */
import { VolumeError } from '../errors';

interface RleInfo {
  rows: number;
  columns: number;
  bitsAllocated: number;
  samplesPerPixel: number;
}

export function decodeRle(bytes: Uint8Array, info: RleInfo): Uint8Array[] {
  if (bytes.length < 64) throw new VolumeError('DECODE_FAILED', 'RLE frame is shorter than its 64-byte header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = dv.getUint32(0, true);
  const expected = (info.bitsAllocated / 8) * info.samplesPerPixel;
  if (segments !== expected) {
    throw new VolumeError('DECODE_FAILED', `RLE frame has ${segments} segments; ${expected} expected for this pixel format`);
  }
  const offsets = Array.from({ length: segments }, (_, i) => dv.getUint32(4 + 4 * i, true));
  const px = info.rows * info.columns;
  return offsets.map((start, i) => {
    const end = i + 1 < segments ? offsets[i + 1] : bytes.length;
    if (start < 64 || start > end || end > bytes.length) throw new VolumeError('DECODE_FAILED', `RLE segment ${i + 1} has an invalid offset`);
    return unpackBits(bytes.subarray(start, end), px);
  });
}

/** PackBits: n in 0..127 copies n+1 literal bytes; n in -127..-1 repeats the next byte 1-n times; -128 is a no-op. */
function unpackBits(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  let i = 0;
  while (o < size && i < src.length) {
    const n = (src[i++] << 24) >> 24;
    if (n >= 0) {
      const len = Math.min(n + 1, size - o, src.length - i);
      out.set(src.subarray(i, i + len), o);
      o += len;
      i += n + 1;
    } else if (n !== -128) {
      const len = Math.min(1 - n, size - o);
      out.fill(src[i++], o, o + len);
      o += len;
    }
  }
  if (o < size) throw new VolumeError('DECODE_FAILED', `RLE segment ends after ${o} of ${size} bytes`);
  return out;
}
