/**
 * DICOM RLE Lossless (PS3.5 Annex G): a 64-byte little-endian header (segment count, then up to 15 segment offsets),
 * then one PackBits segment per byte plane: for each sample in turn, its most significant byte first. Each segment is
 * unpacked straight into its byte lane of the output, so no per-plane copies. Every loop advances through the input or
 * the output, so corrupt data can only end early (an error) or decode to wrong values, never spin.
 */
import { VolumeError } from '../errors';
import type { FrameInfo } from './frame-info';
import type { SampleArray } from './samples';

type RleFrame = Pick<FrameInfo, 'rows' | 'columns' | 'bitsAllocated' | 'samplesPerPixel'>;

/** Samples in host (little-endian) order, interleaved: unsigned arrays of bitsAllocated bits. */
export function decodeRle(bytes: Uint8Array, f: RleFrame): SampleArray {
  const bpv = f.bitsAllocated / 8;
  const spp = f.samplesPerPixel;
  const pixels = f.rows * f.columns;
  if (bytes.length < 64) throw new VolumeError('DECODE_FAILED', 'RLE frame is shorter than its 64-byte header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 64);
  const count = dv.getUint32(0, true);
  const expected = bpv * spp;
  if (count !== expected) {
    throw new VolumeError('DECODE_FAILED', `RLE frame has ${count} segments; ${expected} expected for ${spp} x ${f.bitsAllocated}-bit samples`);
  }
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < count; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < count ? dv.getUint32(8 + 4 * s, true) : bytes.length;
    if (start < 64 || end < start || end > bytes.length) {
      throw new VolumeError('DECODE_FAILED', `RLE segment ${s + 1} has an invalid offset (${start}..${end} of ${bytes.length})`);
    }
    const sample = Math.floor(s / bpv);
    const lane = sample * bpv + (bpv - 1 - (s % bpv)); // most significant byte first -> little-endian lane
    const got = unpackBits(bytes, start, end, out, lane, expected, pixels);
    if (got < pixels) throw new VolumeError('DECODE_FAILED', `RLE segment ${s + 1} ends after ${got} of ${pixels} bytes`);
  }
  const buf = out.buffer;
  return bpv === 1 ? out : bpv === 2 ? new Uint16Array(buf) : new Uint32Array(buf);
}

/**
 * PackBits: a header byte n in 0..127 copies the next n+1 bytes; -127..-1 repeats the next byte 1-n times; -128 is a
 * no-op. Writes byte k of the plane at out[lane + k * step]; output beyond `size` (encoder padding) is dropped.
 */
function unpackBits(src: Uint8Array, i: number, end: number, out: Uint8Array, lane: number, step: number, size: number): number {
  let k = 0;
  while (k < size && i < end) {
    const n = (src[i++] << 24) >> 24;
    if (n >= 0) {
      const stop = Math.min(i + n + 1, end);
      while (i < stop && k < size) out[lane + k++ * step] = src[i++];
      i = stop;
    } else if (n !== -128) {
      if (i >= end) break;
      const v = src[i++];
      const stop = Math.min(k + 1 - n, size);
      while (k < stop) out[lane + k++ * step] = v;
    }
  }
  return k;
}
