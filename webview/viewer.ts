/**
 * The three-plane viewer: state (volume, crosshair point, window, colour map, layout, overlay), rendering through
 * cornerstone (each plane re-extracts its slice only when it changed, and cornerstone renders its pixels again only when
 * the slice, window or colours changed; see viewport.ts), and the mouse / keyboard interactions radiologists expect
 * (wheel and arrows scroll, drag windows, right-drag zooms, middle- or shift-drag pans, click moves the linked crosshair).
 */
import { COLORMAPS, type ColormapName } from './colormap-tables';
import { cornerstoneColormap } from './colormaps';
import type { DisplayVolume } from './display';
import type { Overlay } from './overlay';
import { PLANES, type Plane, canonicalToVoxel, voxelToCanonical } from './reslice';
import { type PixelFormat, pixelFormat, sliceImage, slicePixels } from './slice-image';
import { type PlaneView, canonicalAt, createPlaneView, crosshairFor, imageRect, overlayCanvas, panBy, show, sizeCanvas, zoomBy } from './viewport';
import { CT_PRESETS, type Window, autoWindow, dragWindow } from './windowing';
import { apply4 } from '../src/shared/geometry';

export type Layout = '1x3' | '2x2' | 'single';
export const LAYOUTS: Layout[] = ['1x3', '2x2', 'single'];

export interface ViewerEvents {
  cursor(text: string): void;
  /** A frame was drawn: how long it took and which planes showed data that had all arrived. */
  rendered(ms: number, painted: Plane[]): void;
}

export class Viewer {
  readonly views: PlaneView[];
  vol?: DisplayVolume;
  overlay?: Overlay;
  volumeIndex = 0;
  frame = 0;
  point: [number, number, number] = [0, 0, 0];
  window: Window = { center: 0, width: 1 };
  preset = 'auto';
  colormap: ColormapName = 'gray';
  radiological = true;
  layout: Layout = '1x3';
  active: Plane = 'axial';
  private pending = new Set<PlaneView>();
  private frameRequested = false;

  constructor(private readonly grid: HTMLElement, private readonly events: ViewerEvents) {
    this.views = PLANES.map((p) => createPlaneView(grid, p));
    for (const v of this.views) this.bind(v);
    new ResizeObserver(() => this.resize()).observe(grid);
    this.applyLayout();
  }

  /** Shows a new volume: crosshair to the centre, window from presets/percentiles, views fitted. */
  setVolume(vol: DisplayVolume, index: number): void {
    this.vol = vol;
    this.volumeIndex = index;
    this.overlay = undefined;
    this.frame = 0;
    this.point = voxelToCanonical(vol.canon, vol.centerVoxel);
    this.preset = vol.meta.modality === 'CT' && vol.meta.rescale ? 'brain' : 'auto';
    this.window = this.presetWindow(this.preset);
    this.grid.dataset.empty = 'false';
    for (const v of this.views) {
      v.fitted = v.userView = false;
      v.sliceKey = v.overlayKey = undefined;
    }
    this.renderAll();
  }

  presetWindow(name: string): Window {
    if (CT_PRESETS[name]) return CT_PRESETS[name];
    return this.vol ? autoWindow((p) => this.vol!.percentile(p)) : { center: 0, width: 1 };
  }

  setPreset(name: string): void {
    this.preset = name;
    this.window = this.presetWindow(name);
    this.renderAll();
  }

  setColormap(name: ColormapName): void {
    this.colormap = COLORMAPS.includes(name) ? name : 'gray';
    this.renderAll();
  }

  setRadiological(on: boolean): void {
    this.radiological = on;
    this.renderAll();
  }

  setFrame(frame: number): void {
    if (!this.vol) return;
    this.frame = Math.max(0, Math.min(this.vol.meta.frames - 1, frame));
    this.renderAll();
  }

  setLayout(layout: Layout, plane?: Plane): void {
    this.layout = layout;
    if (plane) this.active = plane;
    this.applyLayout();
    this.resize();
  }

  cycleLayout(): void {
    this.setLayout(LAYOUTS[(LAYOUTS.indexOf(this.layout) + 1) % LAYOUTS.length]);
  }

  resetView(): void {
    for (const v of this.views) v.fitted = v.userView = false;
    if (this.vol) this.window = this.presetWindow(this.preset);
    this.renderAll();
  }

  /** Moves the slice of one plane; the crosshair point follows so the other planes stay linked. */
  scroll(plane: Plane, delta: number): void {
    if (!this.vol) return;
    const axis = AXIS_THROUGH[plane];
    const n = this.vol.canon.size[axis];
    this.point[axis] = Math.max(0, Math.min(n - 1, this.point[axis] + delta));
    this.renderAll();
  }

  view(plane: Plane): PlaneView {
    return this.views.find((v) => v.plane === plane)!;
  }

  private applyLayout(): void {
    this.grid.dataset.layout = this.layout;
    for (const v of this.views) {
      const box = v.element.parentElement!;
      box.hidden = this.layout === 'single' && v.plane !== this.active;
      box.classList.toggle('active', v.plane === this.active);
    }
  }

  private resize(): void {
    for (const v of this.views) if (!v.element.parentElement!.hidden) sizeCanvas(v);
  }

  renderAll(): void {
    for (const v of this.views) this.pending.add(v);
    this.requestFrame();
  }

  /** Redraws without new pixels (zoom, pan): the image is unchanged, so cornerstone only draws its cached render. */
  private redraw(v: PlaneView): void {
    this.pending.add(v);
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    // Coalesce bursts of wheel / drag events into one render per animation frame.
    requestAnimationFrame(() => {
      this.frameRequested = false;
      const t0 = performance.now();
      // The automatic window follows the data in: from the first slices, then from the whole volume.
      if (this.preset === 'auto' && this.vol?.percentilesStale) {
        this.window = this.presetWindow('auto');
        for (const v of this.views) this.pending.add(v);
      }
      const painted: Plane[] = [];
      for (const v of this.pending) if (this.render(v)) painted.push(v.plane);
      this.pending.clear();
      this.events.rendered(performance.now() - t0, painted);
    });
  }

  /** Draws one plane; extracts its slice only when what it shows changed. True when its data are all in. */
  private render(v: PlaneView): boolean {
    const vol = this.vol;
    if (!vol || v.element.parentElement!.hidden) return false;
    sizeCanvas(v);
    const lay = vol.layout(v.plane, this.radiological);
    const axis = AXIS_THROUGH[v.plane];
    v.slice = this.point[axis];
    v.depth = lay.depth;
    const ready = vol.planeReady(v.plane, v.slice, this.frame);
    // MONOCHROME1 shows high values dark: swap the grey maps for it.
    const map = vol.meta.invertDisplay && (this.colormap === 'gray' || this.colormap === 'inverted') ? (this.colormap === 'gray' ? 'inverted' : 'gray') : this.colormap;
    const format = this.pixelFormat(vol);
    const sliceKey = `${vol.id}:${v.plane}:${this.radiological}:${v.slice}:${this.frame}:${vol.version}:${format.key}`;
    if (sliceKey !== v.sliceKey) {
      v.width = lay.width;
      v.height = lay.height;
      v.spacing = lay.spacing;
      v.values = vol.sliceBuffer(lay.width, lay.height, v.values);
      vol.extract(v.plane, this.radiological, v.slice, this.frame, v.values);
      v.pixels = slicePixels(v.values, format, vol, v.pixels instanceof Uint8Array || v.pixels instanceof Uint16Array ? v.pixels : undefined);
      const imageFormat = `${format.key}:${lay.width}x${lay.height}:${lay.spacing}`;
      if (imageFormat !== v.imageFormat) {
        v.image = sliceImage(format, lay.width, lay.height, lay.spacing, () => v.pixels!);
        v.imageFormat = imageFormat;
      }
      // A new id makes cornerstone render the new pixels; its VOI table (cached on the image) stays.
      v.image!.imageId = `hlip:${sliceKey}`;
      v.sliceKey = sliceKey;
    }
    const overlay = this.overlay?.settings.visible && !vol.isColor ? this.overlay : undefined;
    const overlayKey = overlay ? `${sliceKey}:${JSON.stringify(overlay.settings)}` : undefined;
    if (overlayKey !== v.overlayKey) {
      v.overlay = overlay ? overlayCanvas(v, overlay.sliceRGBA(vol, v.plane, this.radiological, v.slice, this.frame, lay.width, lay.height)) : undefined;
      v.overlayKey = overlayKey;
    }
    v.crosshair = crosshairFor(v, vol.canon, this.radiological, this.point);
    show(v, this.window, vol.isColor || map === 'gray' ? '' : cornerstoneColormap(map));
    const box = v.element.parentElement!;
    box.dataset.slice = String(v.slice);
    box.dataset.depth = String(v.depth);
    box.dataset.ready = String(ready);
    const labels = lay.labels.join('');
    if (box.dataset.labels !== labels) {
      lay.labels.forEach((l, i) => (v.labels[i].textContent = l));
      box.dataset.labels = labels;
    }
    v.info.textContent = `${v.plane} ${v.slice + 1}/${v.depth}${vol.meta.frames > 1 ? `  t ${this.frame + 1}/${vol.meta.frames}` : ''}`;
    v.renderedAt = performance.now();
    return ready;
  }

  private format?: { vol: DisplayVolume; range: [number, number]; format: PixelFormat };
  /** How the volume's values go to cornerstone: made again only for another volume or (quantised ones) another range. */
  private pixelFormat(vol: DisplayVolume): PixelFormat {
    const f = this.format;
    if (f?.vol === vol && (f.range === vol.meta.range || !f.format.quantise)) return f.format;
    this.format = { vol, range: vol.meta.range, format: pixelFormat(vol) };
    return this.format.format;
  }

  /** The image's rectangle on a plane's canvas (undefined before its first paint). */
  imageRect(plane: Plane) {
    return imageRect(this.view(plane));
  }

  private bind(v: PlaneView): void {
    const el = v.element;
    el.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.focus(v.plane);
      if (e.ctrlKey) this.zoom(v, e.deltaY < 0 ? 1.1 : 1 / 1.1);
      else this.scroll(v.plane, e.deltaY > 0 ? -1 : 1);
    }, { passive: false });
    el.addEventListener('contextmenu', (e) => e.preventDefault());
    el.addEventListener('pointerdown', (down) => {
      if (!this.vol) return;
      this.focus(v.plane);
      el.setPointerCapture(down.pointerId);
      const start = { x: down.clientX, y: down.clientY };
      let last = start;
      let moved = false;
      const mode = down.button === 2 ? 'zoom' : down.button === 1 || down.shiftKey ? 'pan' : 'window';
      const startWindow = { ...this.window };
      const onMove = (e: PointerEvent) => {
        if (Math.abs(e.clientX - start.x) + Math.abs(e.clientY - start.y) > 3) moved = true;
        if (!moved) return;
        if (mode === 'window') {
          const r = this.vol!.meta.range;
          this.window = dragWindow(startWindow, e.clientX - start.x, e.clientY - start.y, r[1] - r[0]);
          this.preset = 'custom';
          this.renderAll();
        } else {
          v.userView = true;
          if (mode === 'zoom') zoomBy(v, Math.exp((last.y - e.clientY) / 200));
          else panBy(v, e.clientX - last.x, e.clientY - last.y);
          this.redraw(v);
        }
        last = { x: e.clientX, y: e.clientY };
      };
      const onUp = (e: PointerEvent) => {
        el.removeEventListener('pointermove', onMove);
        el.removeEventListener('pointerup', onUp);
        if (!moved && mode === 'window') this.pick(v, e.pageX, e.pageY);
      };
      el.addEventListener('pointermove', onMove);
      el.addEventListener('pointerup', onUp);
    });
    el.addEventListener('mousemove', (e) => this.hover(v, e.pageX, e.pageY));
  }

  focus(plane: Plane): void {
    this.active = plane;
    for (const v of this.views) v.element.parentElement!.classList.toggle('active', v.plane === plane);
  }

  private zoom(v: PlaneView, factor: number): void {
    zoomBy(v, factor);
    v.userView = true;
    this.redraw(v);
  }

  /** Click: move the linked crosshair (and so the other planes' slices) to the clicked voxel. */
  pick(v: PlaneView, pageX: number, pageY: number): void {
    const vol = this.vol;
    if (!vol) return;
    const p = canonicalAt(v, vol.canon, this.radiological, pageX, pageY);
    if (!p) return;
    this.point = p;
    this.renderAll();
    this.hover(v, pageX, pageY);
  }

  /** Voxel value, world position and voxel index under the cursor. */
  hover(v: PlaneView, pageX: number, pageY: number): void {
    const vol = this.vol;
    if (!vol) return;
    const p = canonicalAt(v, vol.canon, this.radiological, pageX, pageY);
    if (!p) return;
    this.events.cursor(this.describe(p));
  }

  describe(p: readonly number[]): string {
    const vol = this.vol!;
    const ijk = canonicalToVoxel(vol.canon, p);
    const world = apply4(vol.meta.affine, ijk);
    const value = vol.valueAt(ijk[0], ijk[1], ijk[2], this.frame);
    const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(5));
    const val = typeof value === 'number' ? fmt(value) : `rgb(${value.join(', ')})`;
    const unit = vol.meta.modality === 'CT' && vol.meta.rescale ? ' HU' : '';
    return `${val}${unit}  @ ${world.map((w) => w.toFixed(1)).join(', ')} mm  [${ijk.join(', ')}]`;
  }
}

/** The canonical (R, A, S) axis each plane slices through. */
export const AXIS_THROUGH: Record<Plane, number> = { axial: 2, coronal: 1, sagittal: 0 };
