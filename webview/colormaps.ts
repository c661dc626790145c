/**
 * Colour maps: cornerstone's built-in gray / hot, plus perceptually uniform ones (viridis, inferno, magma) registered
 * from a few control points (matplotlib's, interpolated). Also used to colour overlays.
 */
import * as cornerstone from 'cornerstone-core';

const STOPS: Record<string, number[][]> = {
  viridis: [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
  inferno: [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164]],
  magma: [[0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122], [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191]],
  hot: [[0, 0, 0], [128, 0, 0], [255, 0, 0], [255, 128, 0], [255, 255, 0], [255, 255, 255]],
  // Overlays: starts visible (no black) and never reaches white, so it stands out on a grey scan.
  heat: [[160, 0, 0], [255, 40, 0], [255, 160, 0], [255, 240, 0]],
  gray: [[0, 0, 0], [255, 255, 255]],
  inverted: [[255, 255, 255], [0, 0, 0]],
};

export const COLORMAPS = ['gray', 'inverted', 'hot', 'viridis', 'inferno', 'magma'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** A 256-entry RGB table interpolated from the stops. */
export function table(name: string): Uint8Array {
  const stops = STOPS[name] ?? STOPS.gray;
  const t = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const j = Math.min(Math.floor(x), stops.length - 2);
    const f = x - j;
    for (let c = 0; c < 3; c++) t[3 * i + c] = Math.round(stops[j][c] * (1 - f) + stops[j + 1][c] * f);
  }
  return t;
}

let registered = false;
/**
 * Registers our maps with cornerstone once; returns the viewport colormap id for a name. Grey is a map too: cornerstone
 * caches what it drew per image and renderer, and switching renderers (pseudo-colour <-> grey) left stale colours.
 */
export function cornerstoneColormap(name: ColormapName): string {
  if (!registered) {
    for (const id of ['gray', 'inverted', 'viridis', 'inferno', 'magma', 'hot']) {
      const t = table(id);
      const colors = Array.from({ length: 256 }, (_, i) => [t[3 * i], t[3 * i + 1], t[3 * i + 2], 255]);
      cornerstone.colors.getColormap(`hlip-${id}`, { name: id, numOfColors: 256, colors });
    }
    registered = true;
  }
  return `hlip-${COLORMAPS.includes(name) ? name : 'gray'}`;
}
