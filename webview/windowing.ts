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
