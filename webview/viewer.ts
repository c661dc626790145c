/**
 * The three-plane viewer: state (volume, crosshair point, window, colour map, layout, overlay), rendering through
 * cornerstone, and the mouse / keyboard interactions radiologists expect (wheel and arrows scroll, drag windows,
 * right-drag zooms, middle- or shift-drag pans, click moves the linked crosshair).
 */
import * as cornerstone from 'cornerstone-core';
import { COLORMAPS, type ColormapName, cornerstoneColormap } from './colormaps';
import type { DisplayVolume } from './display';
import type { Overlay } from './overlay';
import { PLANES, type Plane, canonicalToVoxel, voxelToCanonical } from './reslice';
import { type PlaneView, canonicalAt, createPlaneView, crosshairFor, drawDecorations } from './viewport';
import { CT_PRESETS, type Window, autoWindow, dragWindow } from './windowing';
import { apply4 } from '../src/shared/geometry';

export type Layout = '1x3' | '2x2' | 'single';
export const LAYOUTS: Layout[] = ['1x3', '2x2', 'single'];

export interface ViewerEvents {
  cursor(text: string): void;
  rendered(ms: number): void;
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
    for (const v of this.views) v.fitted = v.userView = false;
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
    for (const v of this.views) {
      if (v.element.parentElement!.hidden || !cornerstone.getEnabledElement(v.element).image) continue;
      cornerstone.resize(v.element, !v.userView);
    }
  }

  renderAll(): void {
    for (const v of this.views) this.pending.add(v);
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    // Coalesce bursts of wheel / drag events into one render per animation frame.
    requestAnimationFrame(() => {
      this.frameRequested = false;
      const t0 = performance.now();
      for (const v of this.pending) this.render(v);
      this.pending.clear();
      this.events.rendered(performance.now() - t0);
    });
  }

  private render(v: PlaneView): void {
    const vol = this.vol;
    if (!vol || v.element.parentElement!.hidden) return;
    const lay = vol.layout(v.plane, this.radiological);
    const axis = AXIS_THROUGH[v.plane];
    v.slice = this.point[axis];
    v.depth = lay.depth;
    const { pixels, width, height } = vol.slicePixels(v.plane, this.radiological, v.slice, this.frame);
    const q = vol.q;
    const image: cornerstone.Image = {
      // Cornerstone reuses its rendering for an unchanged id (even across colour maps): the id changes with them and
      // as more voxels arrive.
      imageId: `hlip:${this.volumeIndex}:${v.plane}:${v.slice}:${this.frame}:${vol.loaded}:${this.colormap}`,
      minPixelValue: vol.isColor ? 0 : q.min,
      maxPixelValue: vol.isColor ? 255 : q.max,
      slope: vol.isColor ? 1 : q.slope,
      intercept: vol.isColor ? 0 : q.intercept,
      windowCenter: this.window.center,
      windowWidth: this.window.width,
      getPixelData: () => pixels,
      rows: height,
      columns: width,
      height,
      width,
      color: vol.isColor,
      rgba: vol.isColor,
      columnPixelSpacing: lay.spacing[0],
      rowPixelSpacing: lay.spacing[1],
      invert: false,
      sizeInBytes: pixels.byteLength,
    };
    v.overlay =
      this.overlay?.settings.visible && !vol.isColor
        ? { rgba: this.overlay.sliceRGBA(vol, v.plane, this.radiological, v.slice, this.frame, width, height) }
        : undefined;
    v.crosshair = crosshairFor(v, vol.canon, this.radiological, this.point);
    const existing = cornerstone.getEnabledElement(v.element).image;
    const vp = existing && v.fitted ? cornerstone.getViewport(v.element) : undefined;
    // MONOCHROME1 shows high values dark: swap the grey maps for it.
    const map = vol.meta.invertDisplay && (this.colormap === 'gray' || this.colormap === 'inverted') ? (this.colormap === 'gray' ? 'inverted' : 'gray') : this.colormap;
    const settings = {
      ...(vp ? { scale: vp.scale, translation: vp.translation } : {}),
      voi: { windowCenter: this.window.center, windowWidth: this.window.width },
      invert: false,
      colormap: vol.isColor ? '' : cornerstoneColormap(map),
      pixelReplication: true,
    };
    cornerstone.displayImage(v.element, image, settings as Partial<cornerstone.Viewport>);
    if (!v.fitted) {
      cornerstone.fitToWindow(v.element);
      v.fitted = true;
    }
    const box = v.element.parentElement!;
    box.dataset.slice = String(v.slice);
    box.dataset.depth = String(v.depth);
    lay.labels.forEach((l, i) => (v.labels[i].textContent = l));
    box.dataset.labels = lay.labels.join('');
    v.info.textContent = `${v.plane} ${v.slice + 1}/${v.depth}${vol.meta.frames > 1 ? `  t ${this.frame + 1}/${vol.meta.frames}` : ''}`;
    v.renderedAt = performance.now();
  }

  private bind(v: PlaneView): void {
    const el = v.element;
    el.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, (e) => {
      const d = (e as CustomEvent).detail as { canvasContext: CanvasRenderingContext2D; image: cornerstone.Image };
      drawDecorations(v, d.canvasContext, d.image.width, d.image.height);
    });
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
          const vp = cornerstone.getViewport(el);
          if (!vp) return;
          v.userView = true;
          if (mode === 'zoom') vp.scale *= Math.exp((last.y - e.clientY) / 200);
          else {
            vp.translation.x += (e.clientX - last.x) / vp.scale;
            vp.translation.y += (e.clientY - last.y) / vp.scale;
          }
          cornerstone.setViewport(el, vp);
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
    const vp = cornerstone.getViewport(v.element);
    if (!vp) return;
    vp.scale *= factor;
    v.userView = true;
    cornerstone.setViewport(v.element, vp);
  }

  /** Click: move the linked crosshair (and so the other planes' slices) to the clicked voxel. */
  pick(v: PlaneView, pageX: number, pageY: number): void {
    const vol = this.vol;
    if (!vol) return;
    const lay = vol.layout(v.plane, this.radiological);
    const p = canonicalAt(v, vol.canon, this.radiological, pageX, pageY, lay.width, lay.height);
    if (!p) return;
    this.point = p;
    this.renderAll();
    this.hover(v, pageX, pageY);
  }

  /** Voxel value, world position and voxel index under the cursor. */
  hover(v: PlaneView, pageX: number, pageY: number): void {
    const vol = this.vol;
    if (!vol || !cornerstone.getEnabledElement(v.element).image) return;
    const lay = vol.layout(v.plane, this.radiological);
    const p = canonicalAt(v, vol.canon, this.radiological, pageX, pageY, lay.width, lay.height);
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
