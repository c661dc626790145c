/**
 * The viewer as a user sees it, in a real VS Code (code-server + headless chromium), on a phantom with known asymmetry
 * (test/oracles/make_phantom.py): every plane is painted, right/anterior/superior land on the labelled sides,
 * window/level and scrolling change what is shown, the overlay appears where its volume is non-zero, and screenshots
 * are kept in test-results/ for a person to look at.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { launchOnFixtures } from './driver';

type Plane = 'axial' | 'coronal' | 'sagittal';
interface Rect { x0: number; y0: number; x1: number; y1: number }

/** Mean RGB of a box given in fractions of the plane's image rectangle. */
async function regionMean(frame: Frame, plane: Plane, fx0: number, fy0: number, fx1: number, fy1: number): Promise<[number, number, number]> {
  return frame.evaluate(
    ([plane, fx0, fy0, fx1, fy1]) => {
      const probe = (window as unknown as { hlipProbe: { imageRect(p: string): Rect | undefined } }).hlipProbe;
      const r = probe.imageRect(plane as string)!;
      const canvas = document.querySelector(`.viewport[data-plane="${plane}"] canvas`) as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const x = Math.round(r.x0 + (r.x1 - r.x0) * (fx0 as number));
      const y = Math.round(r.y0 + (r.y1 - r.y0) * (fy0 as number));
      const w = Math.max(1, Math.round((r.x1 - r.x0) * ((fx1 as number) - (fx0 as number))));
      const h = Math.max(1, Math.round((r.y1 - r.y0) * ((fy1 as number) - (fy0 as number))));
      const d = ctx.getImageData(x, y, w, h).data;
      const m = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c++) m[c] += d[i + c];
      return m.map((v) => v / (d.length / 4)) as [number, number, number];
    },
    [plane, fx0, fy0, fx1, fy1] as const,
  );
}
const lum = (c: [number, number, number]) => (c[0] + c[1] + c[2]) / 3;

async function viewportAttr(frame: Frame, plane: Plane, attr: string): Promise<string | null> {
  return frame.getAttribute(`.viewport[data-plane="${plane}"]`, attr);
}

test('phantom: painted planes, orientation, window/level, scrolling, overlay, screenshots', { timeout: 300_000 }, async (t) => {
  const launched = await launchOnFixtures(t, 'viewer');
  if (!launched) return;
  const { ui, workspace } = launched;
  try {
    await ui.openFile('phantom.nii.gz');
    const frame = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 60_000 });
    await frame.waitForFunction(() => document.querySelectorAll('.viewport canvas').length === 3);
    await frame.waitForSelector('#app[data-loaded="true"]', { timeout: 60_000 });
    await ui.page.waitForTimeout(500);
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-phantom')}`);

    // 1. Not blank: each plane has bright and dark parts; fitted: the whole image inside a canvas shown at its own size.
    for (const plane of ['axial', 'coronal', 'sagittal'] as Plane[]) {
      const all = lum(await regionMean(frame, plane, 0, 0, 1, 1));
      assert.ok(all > 10, `${plane} looks blank (mean ${all})`);
      const fit = await frame.evaluate((plane) => {
        const r = (window as unknown as { hlipProbe: { imageRect(p: string): Rect } }).hlipProbe.imageRect(plane);
        const c = document.querySelector(`.viewport[data-plane="${plane}"] canvas`) as HTMLCanvasElement;
        const shown = c.getBoundingClientRect();
        return { r, w: c.width, h: c.height, shownW: shown.width, shownH: shown.height };
      }, plane);
      assert.ok(Math.abs(fit.shownW - fit.w) < 1 && Math.abs(fit.shownH - fit.h) < 1, `${plane}: canvas ${fit.w}x${fit.h} shown at ${fit.shownW}x${fit.shownH}`);
      const { r } = fit;
      assert.ok(r.x0 > -1 && r.y0 > -1 && r.x1 < fit.w + 1 && r.y1 < fit.h + 1, `${plane}: image ${JSON.stringify(r)} not inside ${fit.w}x${fit.h}`);
      assert.ok(r.x1 - r.x0 > fit.w - 2 || r.y1 - r.y0 > fit.h - 2, `${plane}: image ${JSON.stringify(r)} not fitted to ${fit.w}x${fit.h}`);
    }

    // 2. Orientation (radiological): the R-block is on the screen's left in axial and coronal; the A-block at the top of
    //    the axial view and on the left of the sagittal view; the S-block at the top of coronal and sagittal views.
    assert.equal(await viewportAttr(frame, 'axial', 'data-labels'), 'RLAP');
    assert.equal(await viewportAttr(frame, 'coronal', 'data-labels'), 'RLSI');
    assert.equal(await viewportAttr(frame, 'sagittal', 'data-labels'), 'APSI');
    const brighter = async (plane: Plane, a: number[], b: number[], what: string) => {
      const la = lum(await regionMean(frame, plane, a[0], a[1], a[2], a[3]));
      const lb = lum(await regionMean(frame, plane, b[0], b[1], b[2], b[3]));
      assert.ok(la > lb + 20, `${plane}: ${what} (${la.toFixed(1)} vs ${lb.toFixed(1)})`);
    };
    await brighter('axial', [0.02, 0.42, 0.15, 0.58], [0.85, 0.42, 0.98, 0.58], 'right of the patient on the screen left');
    await brighter('axial', [0.42, 0.02, 0.58, 0.15], [0.42, 0.85, 0.58, 0.98], 'anterior at the top');
    await brighter('coronal', [0.02, 0.3, 0.15, 0.7], [0.85, 0.3, 0.98, 0.7], 'right on the left');
    await brighter('coronal', [0.3, 0.02, 0.7, 0.15], [0.3, 0.85, 0.7, 0.98], 'superior at the top');
    await brighter('sagittal', [0.02, 0.3, 0.15, 0.7], [0.85, 0.3, 0.98, 0.7], 'anterior on the left');
    await brighter('sagittal', [0.42, 0.02, 0.58, 0.15], [0.42, 0.85, 0.58, 0.98], 'superior at the top');

    // 3. Window/level: dragging changes the window and the pixels.
    const wl0 = await frame.getAttribute('#app', 'data-wl');
    const before = lum(await regionMean(frame, 'axial', 0.02, 0.42, 0.15, 0.58));
    const box = (await frame.$('.viewport[data-plane="axial"]'))!;
    const bb = (await box.boundingBox())!;
    await ui.page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2);
    await ui.page.mouse.down();
    await ui.page.mouse.move(bb.x + bb.width / 2 + 150, bb.y + bb.height / 2 + 60, { steps: 8 });
    await ui.page.mouse.up();
    await frame.waitForFunction((w) => document.getElementById('app')!.dataset.wl !== w, wl0);
    await ui.page.waitForTimeout(200);
    const after = lum(await regionMean(frame, 'axial', 0.02, 0.42, 0.15, 0.58));
    assert.notEqual(Math.round(after), Math.round(before), 'window/level drag did not change the pixels');
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-phantom-windowed')}`);

    // 4. Scrolling: the wheel and the arrow keys move the axial slice.
    const s0 = Number(await viewportAttr(frame, 'axial', 'data-slice'));
    await ui.page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2);
    await ui.page.mouse.wheel(0, -120);
    await frame.waitForFunction((s) => document.querySelector('.viewport[data-plane="axial"]')!.getAttribute('data-slice') !== String(s), s0);
    const s1 = Number(await viewportAttr(frame, 'axial', 'data-slice'));
    assert.equal(Math.abs(s1 - s0), 1);
    await ui.page.keyboard.press('PageUp');
    await frame.waitForFunction((s) => document.querySelector('.viewport[data-plane="axial"]')!.getAttribute('data-slice') !== String(s), s1);
    assert.equal(Math.abs(Number(await viewportAttr(frame, 'axial', 'data-slice')) - s1), 10);

    // 5. Overlay: a label map that is 1 only in the R-block; pick it in VS Code's file dialog.
    const grayBefore = await regionMean(frame, 'coronal', 0.02, 0.3, 0.15, 0.7);
    await frame.click('#load-overlay');
    const input = ui.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 15_000 });
    // VS Code's simple file dialog completes paths while typing: wait until it shows ours, and confirm again if the
    // first Enter only accepted a completion.
    const target = join(workspace, 'phantom_overlay.nii.gz');
    await input.fill(target);
    const hasOverlay = () => frame.evaluate(() => document.getElementById('app')!.dataset.overlay === 'phantom_overlay.nii.gz');
    for (let attempt = 0; attempt < 5 && !(await hasOverlay()); attempt++) {
      if (await input.isVisible()) {
        await ui.page.waitForFunction((v) => (document.querySelector('.quick-input-widget input') as HTMLInputElement)?.value === v, target, { timeout: 5_000 }).catch(() => input.fill(target));
        await ui.page.waitForTimeout(300);
        await ui.page.keyboard.press('Enter');
      }
      await frame.waitForFunction(() => document.getElementById('app')!.dataset.overlay === 'phantom_overlay.nii.gz', undefined, { timeout: 5_000 }).catch(() => undefined);
    }
    assert.ok(await hasOverlay(), 'the overlay was not loaded through the file dialog');
    await ui.page.waitForTimeout(300);
    const inside = await regionMean(frame, 'coronal', 0.02, 0.3, 0.15, 0.7);
    const outside = await regionMean(frame, 'coronal', 0.85, 0.3, 0.98, 0.7);
    assert.ok(Math.abs(grayBefore[0] - grayBefore[2]) < 3, 'the base image is grey');
    assert.ok(inside[0] - inside[2] > 30, `overlay colour missing where the label is 1: ${inside}`);
    assert.ok(Math.abs(outside[0] - outside[2]) < 3, `overlay shown where the label is 0: ${outside}`);
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-phantom-overlay')}`);

    // 6. Colour map, layout and header panel controls.
    await frame.selectOption('#colormap', 'hot');
    await ui.page.waitForTimeout(200);
    const hot = await regionMean(frame, 'axial', 0.42, 0.02, 0.58, 0.15);
    assert.ok(hot[0] - hot[2] > 30, `the hot colour map is not applied: ${hot}`);
    await frame.selectOption('#colormap', 'gray');
    await ui.page.waitForTimeout(200);
    const grey = await regionMean(frame, 'axial', 0.42, 0.02, 0.58, 0.15);
    assert.ok(Math.abs(grey[0] - grey[2]) < 3, `back to grey: ${grey}`);
    await frame.selectOption('#layout', 'single:coronal');
    await frame.waitForFunction(() => Array.from(document.querySelectorAll('.viewport')).filter((v) => !(v as HTMLElement).hidden).length === 1);
    assert.equal(await frame.getAttribute('.viewport:not([hidden])', 'data-plane'), 'coronal');
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-phantom-single-coronal')}`);
    await frame.selectOption('#layout', '1x3');
    await frame.click('#toggle-header');
    await frame.waitForSelector('.header-panel:not([hidden]) .header-table');
    const header = await frame.textContent('.header-panel');
    assert.match(header ?? '', /sform_code/);
    assert.match(header ?? '', /Orientation\s*LPS/);
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-phantom-header')}`);
    await frame.click('#toggle-header');

    // 7. The viewer's own screenshot button writes a PNG next to the scan.
    await frame.click('#screenshot');
    await ui.waitForNotification('screenshot saved', { timeout: 15_000 });
    const pngs = readdirSync(workspace).filter((f) => f.startsWith('phantom') && f.endsWith('.png'));
    assert.equal(pngs.length, 1, readdirSync(workspace).join(', '));
    assert.ok(existsSync(join(workspace, pngs[0])));

    // 8. A 4D file: the frame slider moves through time points.
    await ui.openFile('example4d.nii.gz');
    const f4 = await ui.findFrame('#app[data-state="ready"][data-loaded="true"] #frame:not([hidden])', { timeout: 60_000 });
    assert.equal(await f4.getAttribute('#frame', 'max'), '1');
    const info0 = await f4.textContent('.viewport[data-plane="axial"] .viewport-info');
    assert.match(info0 ?? '', /t 1\/2/);
    await f4.$eval('#frame', (el) => {
      (el as HTMLInputElement).value = '1';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await f4.waitForFunction(() => /t 2\/2/.test(document.querySelector('.viewport[data-plane="axial"] .viewport-info')?.textContent ?? ''));
    t.diagnostic(`screenshot: ${await ui.screenshot('viewer-4d-frame2')}`);
  } finally {
    await ui.screenshot('viewer-phantom-final').catch(() => undefined);
    await ui.close();
  }
});
