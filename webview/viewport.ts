/**
 * One plane of the viewer: a cornerstone enabled element showing the current slice (cornerstone owns the canvas, the
 * view transform: scale, translation, pixel spacing, and the rendering: VOI table, colour map, its cached render
 * canvas), with the overlay and crosshair drawn after each render through cornerstone's pixel -> canvas transform.
 * The slice's values are cached per plane and handed to cornerstone as one reused image (slice-image.ts).
 */
import * as cornerstone from 'cornerstone-core';
import type { VoxelArray } from '../src/shared/volume-meta';
import type { Canonical, Plane } from './reslice';
import { canonicalToScreen, screenToCanonical } from './reslice';

export interface PlaneView {
  plane: Plane;
  /** The cornerstone enabled element (takes the mouse; holds cornerstone's canvas). */
  element: HTMLElement;
  enabled: cornerstone.EnabledElement;
  labels: HTMLElement[];
  info: HTMLElement;
  slice: number;
  depth: number;
  /** Stored values of the current slice (reused buffer) and what they are (plane, slice, frame, data version, format). */
  values?: VoxelArray;
  sliceKey?: string;
  /** What cornerstone gets: `values`, or its quantised / RGBA copy (reused buffer). */
  pixels?: ArrayLike<number>;
  /** This plane's cornerstone image (reused from slice to slice) and the format and size it was made for. */
  image?: cornerstone.Image;
  imageFormat?: string;
  /** Image size (pixels) of what is shown. */
  width: number;
  height: number;
  spacing: [number, number];
  overlay?: HTMLCanvasElement;
  overlayKey?: string;
  crosshair?: [number, number];
  renderedAt?: number;
  /** Cornerstone's rendering path last used: grey, pseudo-colour (a colour map) or colour. */
  path?: 'gray' | 'pseudo' | 'color';
  /** Zoom/pan fitted to the panel since the last reset. */
  fitted?: boolean;
  /** The user zoomed or panned: keep that on resize instead of refitting. */
  userView?: boolean;
}

export function createPlaneView(parent: HTMLElement, plane: Plane): PlaneView {
  const box = document.createElement('div');
  box.className = 'viewport';
  box.dataset.plane = plane;
  box.tabIndex = 0;
  const element = document.createElement('div');
  element.className = 'cs-element';
  box.appendChild(element);
  const labels = ['left', 'right', 'top', 'bottom'].map((side) => {
    const l = document.createElement('div');
    l.className = `orient-label ${side}`;
    box.appendChild(l);
    return l;
  });
  const info = document.createElement('div');
  info.className = 'viewport-info';
  box.appendChild(info);
  parent.appendChild(box);
  cornerstone.enable(element, { renderer: 'canvas' });
  const v: PlaneView = {
    plane, element, enabled: cornerstone.getEnabledElement(element), labels, info, slice: 0, depth: 1, width: 0, height: 0, spacing: [1, 1],
  };
  // Every render (ours, or cornerstone's own after a resize) gets the overlay and crosshair on top.
  element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, (e) => drawDecorations(v, (e as CustomEvent).detail.canvasContext));
  return v;
}

/**
 * Shows the plane's image with this window and colour map ('' for grey or a colour image), now (cornerstone's own loop
 * would draw a frame later).
 */
export function show(v: PlaneView, window: { center: number; width: number }, colormap: string): void {
  const image = v.image!;
  const el = v.enabled;
  if (el.image !== image || !el.viewport) {
    // A new image object (new volume or size): cornerstone's viewport is set up for it; zoom and pan are kept if fitted.
    const vp = el.viewport && v.fitted ? { scale: el.viewport.scale, translation: { ...el.viewport.translation } } : {};
    cornerstone.displayImage(v.element, image, {
      ...vp, voi: { windowCenter: window.center, windowWidth: window.width }, invert: false, colormap, pixelReplication: true,
    } as Partial<cornerstone.Viewport>);
  } else {
    const vp = el.viewport;
    vp.voi.windowCenter = window.center;
    vp.voi.windowWidth = window.width;
    vp.colormap = colormap;
  }
  if (!v.fitted) {
    cornerstone.fitToWindow(v.element);
    v.fitted = true;
  }
  // Rendered in this frame, through the path cornerstone picks for it; its own loop then has nothing left to draw.
  const path = image.color ? 'color' : colormap ? 'pseudo' : 'gray';
  if (path === 'gray') {
    // Grey only writes the alpha of a white render canvas (the fastest path): after a colour map, whose colours it would
    // keep, cornerstone gets a fresh one.
    if (v.path === 'pseudo') el.renderingTools.renderCanvas = undefined;
    cornerstone.renderGrayscaleImage(el, false);
  } else if (path === 'pseudo') cornerstone.renderPseudoColorImage(el, false);
  else cornerstone.renderColorImage(el, false);
  v.path = path;
  el.needsRedraw = false;
  drawDecorations(v, el.canvas.getContext('2d')!);
}

/** Matches cornerstone's canvas to its element's size; true when it changed. */
export function sizeCanvas(v: PlaneView): boolean {
  const c = v.enabled.canvas;
  if (c.width === v.element.clientWidth && c.height === v.element.clientHeight) return false;
  cornerstone.resize(v.element, !v.userView); // sets the canvas' size and its CSS size (then refits, if an image is in)
  return true;
}

/** Zooms by `factor` about the canvas centre (cornerstone scales about it). */
export function zoomBy(v: PlaneView, factor: number): void {
  const vp = v.enabled.viewport;
  if (vp) vp.scale *= factor;
}

export function panBy(v: PlaneView, dx: number, dy: number): void {
  const vp = v.enabled.viewport;
  if (!vp) return;
  vp.translation.x += dx / vp.scale;
  vp.translation.y += dy / vp.scale;
}

/** The image's rectangle on the canvas (tests and the benchmark read pixels through it). */
export function imageRect(v: PlaneView): { x0: number; y0: number; x1: number; y1: number } | undefined {
  if (!v.enabled.image) return undefined;
  const a = cornerstone.pixelToCanvas(v.element, { x: 0, y: 0 });
  const b = cornerstone.pixelToCanvas(v.element, { x: v.width, y: v.height });
  return { x0: a.x, y0: a.y, x1: b.x, y1: b.y };
}

/** Draws the overlay and crosshair over the rendered image (cornerstone's IMAGE_RENDERED). */
function drawDecorations(v: PlaneView, ctx: CanvasRenderingContext2D): void {
  const r = imageRect(v);
  if (!r) return;
  const sx = (r.x1 - r.x0) / v.width;
  const sy = (r.y1 - r.y0) / v.height;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  if (v.overlay) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(v.overlay, r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
  }
  if (v.crosshair) {
    const x = Math.round(r.x0 + (v.crosshair[0] + 0.5) * sx) + 0.5;
    const y = Math.round(r.y0 + (v.crosshair[1] + 0.5) * sy) + 0.5;
    ctx.strokeStyle = 'rgba(0, 255, 128, 0.6)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, r.y0);
    ctx.lineTo(x, r.y1);
    ctx.moveTo(r.x0, y);
    ctx.lineTo(r.x1, y);
    ctx.stroke();
  }
  ctx.restore();
}

/** Canvas for an overlay slice (RGBA), reused per view. */
export function overlayCanvas(v: PlaneView, img: ImageData): HTMLCanvasElement {
  const c = v.overlay ?? document.createElement('canvas');
  if (c.width !== img.width || c.height !== img.height) {
    c.width = img.width;
    c.height = img.height;
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}

/** Canonical index under a page position, or undefined outside the image. */
export function canonicalAt(view: PlaneView, c: Canonical, radiological: boolean, pageX: number, pageY: number): [number, number, number] | undefined {
  if (!view.enabled.image) return undefined;
  const p = cornerstone.pageToPixel(view.element, pageX, pageY);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= view.width || y >= view.height) return undefined;
  return screenToCanonical(c, view.plane, radiological, x, y, view.slice);
}

/** Crosshair position (screen pixel) of a canonical point on this plane. */
export function crosshairFor(view: PlaneView, c: Canonical, radiological: boolean, point: readonly number[]): [number, number] {
  const [x, y] = canonicalToScreen(c, view.plane, radiological, point);
  return [x, y];
}
