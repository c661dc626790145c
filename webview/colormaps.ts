/** Colour maps registered with cornerstone (the tables themselves: colormap-tables.ts). */
import * as cornerstone from 'cornerstone-core';
import { COLORMAPS, type ColormapName, table } from './colormap-tables';

export { COLORMAPS, type ColormapName, table } from './colormap-tables';

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
