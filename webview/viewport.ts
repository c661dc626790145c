/**
 * One plane of the viewer: a canvas showing the current slice through a view transform (fitted, zoomed, panned), with
 * the overlay and crosshair drawn on top. The windowed slice lives in an offscreen canvas at the image's own resolution
 * and is only repainted when its pixels, window or colour map change; zoom, pan, resize and crosshair moves just redraw
 * it scaled (one drawImage), so nothing per frame allocates or walks the volume.
 */
import type { VoxelArray } from '../src/shared/volume-meta';
import type { Canonical, Plane } from './reslice';
import { canonicalToScreen, screenToCanonical } from './reslice';

export interface PlaneView {
  plane: Plane;
  /** The element that takes the mouse; holds the visible canvas. */
  element: HTMLElement;
  canvas: HTMLCanvasElement;
  labels: HTMLElement[];
  info: HTMLElement;
  slice: number;
  depth: number;
  /** Stored values of the current slice (reused buffer) and what they are (plane, slice, frame, data version). */
  values?: VoxelArray;
  sliceKey?: string;
  /** The windowed slice at image resolution, and its pixels (RGBA words) reused while the size stays the same. */
  image: HTMLCanvasElement;
  pixels?: ImageData;
  /** `pixels` as RGBA words (what painting writes). */
  words?: Uint32Array;
  /** What the offscreen image shows (slice, frame, window, colours, data version); undefined: nothing yet. */
  imageKey?: string;
  /** Image size (pixels) and pixel spacing (mm) of what is shown. */
  width: number;
  height: number;
  spacing: [number, number];
  /** Canvas pixels per mm, and where image pixel (0, 0)'s corner lands on the canvas. */
  scale: number;
  tx: number;
  ty: number;
  overlay?: HTMLCanvasElement;
  overlayKey?: string;
  crosshair?: [number, number];
  renderedAt?: number;
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
  const canvas = document.createElement('canvas');
  element.appendChild(canvas);
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
  return {
    plane, element, canvas, labels, info, slice: 0, depth: 1,
    image: document.createElement('canvas'), width: 0, height: 0, spacing: [1, 1], scale: 1, tx: 0, ty: 0,
  };
}

/** Matches the canvas to its element's size; true when it changed (the canvas was cleared). */
export function sizeCanvas(v: PlaneView): boolean {
  const w = Math.max(1, v.element.clientWidth);
  const h = Math.max(1, v.element.clientHeight);
  if (v.canvas.width === w && v.canvas.height === h) return false;
  v.canvas.width = w;
  v.canvas.height = h;
  return true;
}

/** Whole image in view, centred, square millimetres. */
export function fitToWindow(v: PlaneView): void {
  const mmW = v.width * v.spacing[0] || 1;
  const mmH = v.height * v.spacing[1] || 1;
  v.scale = Math.min(v.canvas.width / mmW, v.canvas.height / mmH);
  v.tx = (v.canvas.width - mmW * v.scale) / 2;
  v.ty = (v.canvas.height - mmH * v.scale) / 2;
}

/** Zooms by `factor` about the canvas centre. */
export function zoomBy(v: PlaneView, factor: number): void {
  const cx = v.canvas.width / 2;
  const cy = v.canvas.height / 2;
  v.scale *= factor;
  v.tx = cx - (cx - v.tx) * factor;
  v.ty = cy - (cy - v.ty) * factor;
}

export function panBy(v: PlaneView, dx: number, dy: number): void {
  v.tx += dx;
  v.ty += dy;
}

/** Canvas position of an image position (pixel units, corners at integers). */
export function pixelToCanvas(v: PlaneView, x: number, y: number): { x: number; y: number } {
  return { x: v.tx + x * v.spacing[0] * v.scale, y: v.ty + y * v.spacing[1] * v.scale };
}

/** Image position under a page position. */
export function pageToPixel(v: PlaneView, pageX: number, pageY: number): { x: number; y: number } {
  const r = v.canvas.getBoundingClientRect();
  const cx = pageX - window.scrollX - r.left;
  const cy = pageY - window.scrollY - r.top;
  return { x: (cx - v.tx) / (v.spacing[0] * v.scale), y: (cy - v.ty) / (v.spacing[1] * v.scale) };
}

/** The image's rectangle on the canvas (tests and the benchmark read pixels through it). */
export function imageRect(v: PlaneView): { x0: number; y0: number; x1: number; y1: number } | undefined {
  if (!v.imageKey) return undefined;
  const a = pixelToCanvas(v, 0, 0);
  const b = pixelToCanvas(v, v.width, v.height);
  return { x0: a.x, y0: a.y, x1: b.x, y1: b.y };
}

/** Puts the windowed pixels (already in v.pixels) into the offscreen image. */
export function commitPixels(v: PlaneView): void {
  if (!v.pixels) return;
  if (v.image.width !== v.pixels.width || v.image.height !== v.pixels.height) {
    v.image.width = v.pixels.width;
    v.image.height = v.pixels.height;
  }
  v.image.getContext('2d')!.putImageData(v.pixels, 0, 0);
}

/** The pixels of an image of this size as RGBA words, reused while the size stays the same. */
export function pixelBuffer(v: PlaneView, width: number, height: number): Uint32Array {
  if (!v.pixels || !v.words || v.pixels.width !== width || v.pixels.height !== height) {
    v.pixels = new ImageData(width, height);
    v.words = new Uint32Array(v.pixels.data.buffer);
  }
  return v.words;
}

/** Draws the image, the overlay and the crosshair on the visible canvas. */
export function draw(v: PlaneView): void {
  const ctx = v.canvas.getContext('2d', { alpha: false })!;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, v.canvas.width, v.canvas.height);
  if (!v.imageKey) return;
  const sx = v.spacing[0] * v.scale;
  const sy = v.spacing[1] * v.scale;
  ctx.imageSmoothingEnabled = false;
  ctx.setTransform(sx, 0, 0, sy, v.tx, v.ty);
  ctx.drawImage(v.image, 0, 0);
  if (v.overlay) ctx.drawImage(v.overlay, 0, 0, v.width, v.height);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  if (v.crosshair) {
    const x = Math.round(v.tx + (v.crosshair[0] + 0.5) * sx) + 0.5;
    const y = Math.round(v.ty + (v.crosshair[1] + 0.5) * sy) + 0.5;
    ctx.strokeStyle = 'rgba(0, 255, 128, 0.6)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, v.ty);
    ctx.lineTo(x, v.ty + v.height * sy);
    ctx.moveTo(v.tx, y);
    ctx.lineTo(v.tx + v.width * sx, y);
    ctx.stroke();
  }
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
  if (!view.imageKey) return undefined;
  const p = pageToPixel(view, pageX, pageY);
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
