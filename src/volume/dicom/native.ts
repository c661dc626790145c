/**
 * Natively encoded (uncompressed) frames: little or big endian, 1/8/16/32 bits allocated, grey or colour, and the
 * 4:2:2 YCbCr layout that stores two samples per pixel.
 */
import { VolumeError } from '../errors';
import { upsample422, yccOf } from './color';
import type { FrameInfo } from './frame-info';
import type { SampleArray, Samples } from './samples';

/** A frame of native (uncompressed) pixel data. */
export type NativeFrame = FrameInfo;

const is422 = (f: NativeFrame) => f.samplesPerPixel === 3 && (f.photometric === 'YBR_FULL_422' || f.photometric === 'YBR_PARTIAL_422');

/** Bytes one native frame occupies (1-bit frames: the bytes that hold its bits, from `bitOffset`). */
export function nativeFrameBytes(f: NativeFrame): number {
  const pixels = f.rows * f.columns;
  if (f.bitsAllocated === 1) return Math.ceil(((f.bitOffset ?? 0) + pixels * f.samplesPerPixel) / 8);
  if (is422(f)) return Math.ceil(pixels / 2) * 4 * (f.bitsAllocated / 8);
  return pixels * f.samplesPerPixel * (f.bitsAllocated / 8);
}

export function decodeNative(bytes: Uint8Array, f: NativeFrame): Samples {
  const pixels = f.rows * f.columns;
  const need = nativeFrameBytes(f);
  if (bytes.length < need) throw new VolumeError('TRUNCATED', `Pixel data frame holds ${bytes.length} bytes; it needs ${need}`);
  const storedBits = f.bitsStored;
  if (f.bitsAllocated === 1) return { data: unpackBits(bytes, f.bitOffset ?? 0, pixels), planar: false, ycc: 'none', storedBits: 1 };
  if (is422(f)) {
    if (f.bitsAllocated !== 8) throw new VolumeError('UNSUPPORTED_DATATYPE', `${f.photometric} with ${f.bitsAllocated} bits allocated is not supported`);
    return { data: upsample422(bytes, pixels), planar: false, ycc: yccOf(f.photometric), storedBits };
  }
  const bpv = f.bitsAllocated / 8;
  const n = pixels * f.samplesPerPixel;
  // A real copy, aligned for the typed-array view: `bytes` may be a view into a whole file buffer.
  const copy = new Uint8Array(n * bpv);
  copy.set(bytes.subarray(0, n * bpv));
  if (!f.littleEndian) swapBytes(copy, bpv);
  const signed = f.pixelRepresentation === 1 && f.samplesPerPixel === 1;
  let data: SampleArray;
  if (bpv === 1) data = signed ? new Int8Array(copy.buffer) : copy;
  else if (bpv === 2) data = signed ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer);
  else data = signed ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
  return { data, planar: f.samplesPerPixel === 3 && f.planarConfiguration === 1, ycc: yccOf(f.photometric), storedBits };
}

/** Big endian -> host order; dicom-parser leaves big-endian pixel data as it is in the file. */
function swapBytes(b: Uint8Array, width: number): void {
  if (width === 2) {
    for (let i = 0; i + 1 < b.length; i += 2) {
      const t = b[i];
      b[i] = b[i + 1];
      b[i + 1] = t;
    }
  } else if (width === 4) {
    for (let i = 0; i + 3 < b.length; i += 4) {
      let t = b[i];
      b[i] = b[i + 3];
      b[i + 3] = t;
      t = b[i + 1];
      b[i + 1] = b[i + 2];
      b[i + 2] = t;
    }
  }
}

/** 1-bit data (segmentations, overlays in pixel data): least significant bit first, 0/1 per pixel. */
function unpackBits(bytes: Uint8Array, bitOffset: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const bit = bitOffset + i;
    out[i] = (bytes[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}
