/** YCbCr (DICOM YBR_FULL / YBR_FULL_422, full range, ITU-R BT.601) -> RGB. RGB and others pass through. */
const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** `samples` is interleaved, 3 per pixel (a 4:2:2 frame must already be upsampled to that layout). */
export function ybrToRgb(samples: Uint8Array, photometric: string, pixels: number): Uint8Array {
  if (photometric !== 'YBR_FULL' && photometric !== 'YBR_FULL_422') return samples;
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const y = samples[3 * i];
    const cb = samples[3 * i + 1] - 128;
    const cr = samples[3 * i + 2] - 128;
    out[3 * i] = clamp(y + 1.402 * cr);
    out[3 * i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    out[3 * i + 2] = clamp(y + 1.772 * cb);
  }
  return out;
}

/** Uncompressed YBR_FULL_422 stores Y1 Y2 Cb Cr per pixel pair: expand to Y Cb Cr per pixel. */
export function upsample422(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0; p + 1 < pixels + 1 && s + 3 < src.length; p += 2, s += 4) {
    out.set([src[s], src[s + 2], src[s + 3]], 3 * p);
    if (p + 1 < pixels) out.set([src[s + 1], src[s + 2], src[s + 3]], 3 * (p + 1));
  }
  return out;
}
