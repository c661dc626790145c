/** A PNG of what is on screen: the visible planes side by side, with their orientation letters. */
import type { WebviewMessage } from '../src/protocol';
import type { Viewer } from './viewer';

export async function saveScreenshot(viewer: Viewer, send: (m: WebviewMessage) => void, saveAs: boolean): Promise<void> {
  const visible = viewer.views.filter((v) => !v.element.parentElement!.hidden);
  const canvases = visible.map((v) => v.element.querySelector('canvas')).filter((c): c is HTMLCanvasElement => !!c);
  if (canvases.length === 0) return;
  const width = canvases.reduce((s, c) => s + c.width, 0);
  const height = Math.max(...canvases.map((c) => c.height));
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width, height);
  let x = 0;
  canvases.forEach((c, i) => {
    ctx.drawImage(c, x, 0);
    const [l, r, t, b] = visible[i].labels.map((e) => e.textContent ?? '');
    ctx.fillStyle = '#ff0';
    ctx.font = '14px sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillText(l, x + 4, c.height / 2);
    ctx.fillText(r, x + c.width - 14, c.height / 2);
    ctx.textAlign = 'center';
    ctx.fillText(t, x + c.width / 2, 10);
    ctx.fillText(b, x + c.width / 2, c.height - 10);
    ctx.textAlign = 'start';
    x += c.width;
  });
  const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
  if (blob) send({ type: 'screenshot', png: await blob.arrayBuffer(), saveAs });
}
