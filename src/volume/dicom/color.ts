/**
 * Colour frames -> 8-bit interleaved RGB, the one layout the viewer shows: planar data is interleaved, YCbCr converted
 * (full range as DICOM YBR_FULL / YBR_FULL_422 / YBR_ICT, or studio range for YBR_PARTIAL_*), and samples deeper than
 * 8 bits keep their top 8 significant bits (e.g. pydicom's SC_rgb_rle_16bit.dcm: >> 8; a 12-bit colour frame: >> 4).
 */
import type { Samples } from './samples';

const clamp8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

export function toRgb8(s: Samples, pixels: number): Uint8Array {
  const { data, storedBits } = s;
  const shift = storedBits > 8 ? storedBits - 8 : 0;
  const mask = storedBits >= 32 ? 0 : 2 ** storedBits - 1; // 0: keep all bits
  const out = new Uint8Array(pixels * 3);
  const at = s.planar ? (j: number) => data[(j % 3) * pixels + Math.floor(j / 3)] : (j: number) => data[j];
  if (!s.planar && shift === 0 && data instanceof Uint8Array && storedBits >= 8) out.set(data.subarray(0, out.length));
  else {
    for (let j = 0; j < out.length; j++) {
      const v = mask ? at(j) & mask : at(j);
      out[j] = v >>> shift;
    }
  }
  if (s.ycc === 'full') ycbcrFull(out);
  else if (s.ycc === 'partial') ycbcrPartial(out);
  return out;
}

/** ITU-R BT.601 full range, as in PS3.3 C.7.6.3.1.2 (the coefficients pydicom's convert_color_space uses). */
function ycbcrFull(p: Uint8Array): void {
  for (let i = 0; i < p.length; i += 3) {
    const y = p[i];
    const cb = p[i + 1] - 128;
    const cr = p[i + 2] - 128;
    p[i] = clamp8(y + 1.402 * cr);
    p[i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    p[i + 2] = clamp8(y + 1.772 * cb);
  }
}

/** Studio range (Y 16..235, chroma 16..240), PS3.3 C.7.6.3.1.2 YBR_PARTIAL_422. */
function ycbcrPartial(p: Uint8Array): void {
  for (let i = 0; i < p.length; i += 3) {
    const y = 1.164384 * (p[i] - 16);
    const cb = p[i + 1] - 128;
    const cr = p[i + 2] - 128;
    p[i] = clamp8(y + 1.596027 * cr);
    p[i + 1] = clamp8(y - 0.391762 * cb - 0.812968 * cr);
    p[i + 2] = clamp8(y + 2.017232 * cb);
  }
}

/**
 * Native 4:2:2 data stores each pair of pixels as Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2): expand to Y Cb Cr per pixel, the
 * chroma shared by both pixels of the pair (pairs run through the frame, as pydicom reads them).
 */
export function upsample422(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
    const cb = src[s + 2];
    const cr = src[s + 3];
    out[3 * p] = src[s];
    out[3 * p + 1] = cb;
    out[3 * p + 2] = cr;
    if (p + 1 < pixels) {
      out[3 * p + 3] = src[s + 1];
      out[3 * p + 4] = cb;
      out[3 * p + 5] = cr;
    }
  }
  return out;
}

/** The colour transform a Photometric Interpretation implies for samples a codec left untouched. */
export function yccOf(photometric: string): Samples['ycc'] {
  if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422' || photometric === 'YBR_ICT') return 'full';
  if (photometric.startsWith('YBR_PARTIAL')) return 'partial';
  return 'none';
}
