/** Window/level presets. CT values in Hounsfield units (common radiology defaults); MR from the data's percentiles. */
export interface Window {
  center: number;
  width: number;
}

export const CT_PRESETS: Record<string, Window> = {
  brain: { center: 40, width: 80 },
  subdural: { center: 75, width: 215 },
  stroke: { center: 40, width: 40 },
  bone: { center: 600, width: 2800 },
  'soft tissue': { center: 50, width: 400 },
  lung: { center: -600, width: 1500 },
};

/** Automatic window: 1st to 99th percentile of the real values (robust to a few hot voxels). */
export function autoWindow(percentile: (p: number) => number): Window {
  const lo = percentile(0.01);
  const hi = percentile(0.99);
  const width = Math.max(hi - lo, 1e-6);
  return { center: lo + width / 2, width };
}

/** Dragging: horizontal changes width, vertical changes level, scaled to the data range so it feels the same on CT and MR. */
export function dragWindow(w: Window, dx: number, dy: number, range: number): Window {
  const k = Math.max(range, 1) / 512;
  return { center: w.center + dy * k, width: Math.max(w.width + dx * k, 1e-6) };
}

/** A 256-entry colour table as RGBA words in ImageData's byte order (little-endian: 0xAABBGGRR), opaque. */
export function packedPalette(rgb: Uint8Array, reversed = false): Uint32Array {
  const out = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const j = reversed ? 255 - i : i;
    out[i] = (0xff << 24) | (rgb[3 * j + 2] << 16) | (rgb[3 * j + 1] << 8) | rgb[3 * j];
  }
  return out;
}

/**
 * Stored value -> palette index through rescale and window, as one affine step: index = stored * a + b, clamped to
 * 0..255 (NaN -> 0). Real = stored * slope + intercept; the window maps [center - width/2, center + width/2] to 0..255.
 */
export function windowRamp(w: Window, slope: number, intercept: number): { a: number; b: number } {
  const k = 255 / Math.max(w.width, 1e-12);
  return { a: slope * k, b: (intercept - (w.center - w.width / 2)) * k };
}

/**
 * Stored value -> RGBA word for every value of an 8- or 16-bit stored type (`offset` = -(the type's minimum)), so
 * painting a slice is one table look-up per pixel. Rebuilt only when the window or the colour map changes.
 */
export function windowLut(out: Uint32Array, offset: number, ramp: { a: number; b: number }, palette: Uint32Array): Uint32Array {
  const { a, b } = ramp;
  for (let i = 0; i < out.length; i++) {
    const t = (i - offset) * a + b;
    out[i] = palette[t <= 0 ? 0 : t >= 255 ? 255 : Math.round(t)];
  }
  return out;
}
