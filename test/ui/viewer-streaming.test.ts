/**
 * A series that is still streaming, in a real VS Code (code-server + headless chromium): the axial slice paints before
 * the last voxel arrived, scrolling works meanwhile, and what was painted mid-stream is pixel for pixel what the
 * finished volume shows; the other planes come in before the end (a 384x384x160 CT written by pydicom, 47 MB).
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { makeSeries } from '../oracles';
import { hostAvailable, launch } from './driver';

type Plane = 'axial' | 'coronal' | 'sagittal';

/** A digest of the pixels of one plane's image on screen: FNV-1a hash, mean and spread of the luminance. */
async function snapshot(frame: Frame, plane: Plane) {
  return frame.evaluate((plane) => {
    const probe = (window as unknown as { hlipProbe: { imageRect(p: string): { x0: number; y0: number; x1: number; y1: number } | undefined } }).hlipProbe;
    const r = probe.imageRect(plane)!;
    const canvas = document.querySelector(`.viewport[data-plane="${plane}"] canvas`) as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(Math.ceil(r.x0), Math.ceil(r.y0), Math.floor(r.x1 - r.x0) - 1, Math.floor(r.y1 - r.y0) - 1).data;
    let hash = 0x811c9dc5;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < d.length; i += 4) {
      const l = (d[i] + d[i + 1] + d[i + 2]) / 3;
      sum += l;
      sq += l * l;
      for (let c = 0; c < 3; c++) hash = Math.imul(hash ^ d[i + c], 16777619) >>> 0;
    }
    const n = d.length / 4;
    const box = document.querySelector(`.viewport[data-plane="${plane}"]`) as HTMLElement;
    return { hash, mean: sum / n, sd: Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)), ready: box.dataset.ready, slice: box.dataset.slice };
  }, plane);
}

test('a series keeps rendering correctly while it streams', { timeout: 300_000 }, async (t) => {
  if (!hostAvailable(t)) return;
  const ws = mkdtempSync(join(tmpdir(), 'hlip-ui-streaming-'));
  makeSeries(join(ws, 'series'), '--shape', '384', '384', '160', '--spacing', '0.6', '0.6', '1');
  const ui = await launch({ folder: ws });
  try {
    await ui.openFile('series/slice0040.dcm');
    const frame = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 60_000 });
    await frame.waitForFunction(() => (window as unknown as { hlipProbe: { firstPaintAt(): number | undefined } }).hlipProbe.firstPaintAt() !== undefined, undefined, { timeout: 60_000 });
    const loadedAtPaint = await frame.getAttribute('#app', 'data-loaded');
    const mid = await snapshot(frame, 'axial');
    t.diagnostic(`first paint: loaded=${loadedAtPaint}, axial ${JSON.stringify(mid)}`);
    assert.equal(loadedAtPaint, 'false', 'the axial slice should paint before the last voxel is in');
    assert.equal(mid.ready, 'true');
    assert.equal(mid.slice, '80', 'the viewer starts on the centre slice');
    assert.ok(mid.sd > 20, `the centre slice shows structure (luminance sd ${mid.sd.toFixed(1)})`);
    await ui.screenshot('viewer-streaming-first-paint');

    // Scrolling while the rest streams: away and back.
    const box = (await frame.$('.viewport[data-plane="axial"]'))!;
    const bb = (await box.boundingBox())!;
    await ui.page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2);
    await ui.page.mouse.wheel(0, -120);
    await frame.waitForFunction(() => document.querySelector('.viewport[data-plane="axial"]')!.getAttribute('data-slice') === '81');
    await ui.page.mouse.wheel(0, 120);
    await frame.waitForFunction(() => document.querySelector('.viewport[data-plane="axial"]')!.getAttribute('data-slice') === '80');

    await frame.waitForSelector('#app[data-loaded="true"]', { timeout: 120_000 });
    await ui.page.waitForTimeout(300);
    const end = await snapshot(frame, 'axial');
    assert.deepEqual(end, mid, 'the slice painted mid-stream differs from the finished volume');
    for (const plane of ['coronal', 'sagittal'] as Plane[]) {
      const s = await snapshot(frame, plane);
      assert.equal(s.ready, 'true', `${plane} has all its data`);
      assert.ok(s.sd > 20, `${plane} shows structure (luminance sd ${s.sd.toFixed(1)})`);
    }
    await ui.screenshot('viewer-streaming-complete');
  } finally {
    await ui.close();
  }
});
