/**
 * Colour maps: matplotlib's published 256-entry tables for viridis, inferno, magma and hot (colormap-tables.json,
 * written from matplotlib by tools/colormaps/make_tables.py and checked against it by the tests), grey and inverted
 * grey, and our own overlay map. Also used to colour overlays.
 */
import published from './colormap-tables.json';

/** Ours, linear between stops: overlays start visible (no black) and never reach white, so they stand out on a grey scan. */
const STOPS: Record<string, number[][]> = {
  heat: [[160, 0, 0], [255, 40, 0], [255, 160, 0], [255, 240, 0]],
  gray: [[0, 0, 0], [255, 255, 255]],
  inverted: [[255, 255, 255], [0, 0, 0]],
};

export const COLORMAPS = ['gray', 'inverted', 'hot', 'viridis', 'inferno', 'magma'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));

function interpolate(stops: number[][]): Uint8Array {
  const t = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const j = Math.min(Math.floor(x), stops.length - 2);
    const f = x - j;
    for (let c = 0; c < 3; c++) t[3 * i + c] = Math.round(stops[j][c] * (1 - f) + stops[j + 1][c] * f);
  }
  return t;
}

const cache = new Map<string, Uint8Array>();
/** The 256-entry RGB table of a map (grey for an unknown name). */
export function table(name: string): Uint8Array {
  let t = cache.get(name);
  if (!t) {
    const hex = (published.tables as Record<string, string>)[name];
    t = hex ? fromHex(hex) : interpolate(STOPS[name] ?? STOPS.gray);
    cache.set(name, t);
  }
  return t;
}
