/**
 * One plane of the viewer: a cornerstone enabled element showing the current slice, with the overlay, crosshair and
 * orientation letters drawn after each render using cornerstone's own pixel -> canvas transform (so they follow
 * zoom and pan exactly).
 */
import * as cornerstone from 'cornerstone-core';
import type { Canonical, Plane } from './reslice';
import { canonicalToScreen, screenToCanonical } from './reslice';

export interface OverlayImage {
  /** RGBA of the overlay slice, same width/height as the base slice. */
  rgba: ImageData;
}

export interface PlaneView {
  plane: Plane;
  element: HTMLElement;
  labels: HTMLElement[];
  info: HTMLElement;
  slice: number;
  depth: number;
  overlay?: OverlayImage;
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
  return { plane, element, labels, info, slice: 0, depth: 1 };
}

/** Draws the overlay and crosshair on top of the rendered image (called on cornerstone's IMAGE_RENDERED event). */
export function drawDecorations(view: PlaneView, ctx: CanvasRenderingContext2D, width: number, height: number): void {
  const p0 = cornerstone.pixelToCanvas(view.element, { x: 0, y: 0 });
  const px = cornerstone.pixelToCanvas(view.element, { x: 1, y: 0 });
  const py = cornerstone.pixelToCanvas(view.element, { x: 0, y: 1 });
  ctx.save();
  ctx.setTransform(px.x - p0.x, px.y - p0.y, py.x - p0.x, py.y - p0.y, p0.x, p0.y);
  if (view.overlay) {
    const c = overlayCanvas(view.overlay.rgba);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(c, 0, 0, width, height);
  }
  ctx.restore();
  if (view.crosshair) {
    const [cx, cy] = view.crosshair;
    const a = cornerstone.pixelToCanvas(view.element, { x: cx + 0.5, y: 0 });
    const b = cornerstone.pixelToCanvas(view.element, { x: cx + 0.5, y: height });
    const c = cornerstone.pixelToCanvas(view.element, { x: 0, y: cy + 0.5 });
    const d = cornerstone.pixelToCanvas(view.element, { x: width, y: cy + 0.5 });
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.strokeStyle = 'rgba(0, 255, 128, 0.6)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.moveTo(c.x, c.y);
    ctx.lineTo(d.x, d.y);
    ctx.stroke();
    ctx.restore();
  }
}

const scratch = new Map<string, HTMLCanvasElement>();
function overlayCanvas(img: ImageData): HTMLCanvasElement {
  const key = `${img.width}x${img.height}`;
  let c = scratch.get(key);
  if (!c) {
    c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    scratch.set(key, c);
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}

/** Canonical index under a page position, or undefined outside the image. */
export function canonicalAt(
  view: PlaneView,
  c: Canonical,
  radiological: boolean,
  pageX: number,
  pageY: number,
  width: number,
  height: number,
): [number, number, number] | undefined {
  const p = cornerstone.pageToPixel(view.element, pageX, pageY);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= width || y >= height) return undefined;
  return screenToCanonical(c, view.plane, radiological, x, y, view.slice);
}

/** Crosshair position (screen pixel) of a canonical point on this plane. */
export function crosshairFor(view: PlaneView, c: Canonical, radiological: boolean, point: readonly number[]): [number, number] {
  const [x, y] = canonicalToScreen(c, view.plane, radiological, point);
  return [x, y];
}
