/**
 * The project's colour maps (colormap-tables.ts) registered as cornerstone colour maps, so cornerstone's own
 * pseudo-colour path applies them after its window (VOI) table.
 */
import * as cornerstone from 'cornerstone-core';
import { COLORMAPS, type ColormapName, table } from './colormap-tables';

let registered = false;

/** The viewport colormap id for a name, registering all maps the first time (grey goes through cornerstone's grey path). */
export function cornerstoneColormap(name: ColormapName): string {
  if (!registered) {
    for (const id of COLORMAPS) {
      const t = table(id);
      const colors = Array.from({ length: 256 }, (_, i) => [t[3 * i], t[3 * i + 1], t[3 * i + 2], 255]);
      cornerstone.colors.getColormap(`hlip-${id}`, { name: id, numOfColors: 256, colors });
    }
    registered = true;
  }
  return `hlip-${COLORMAPS.includes(name) ? name : 'gray'}`;
}
