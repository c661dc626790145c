/**
 * Training runs as a user sees them, in a real VS Code (code-server + headless chromium): the HLIP Runs view on a
 * workspace holding the generated logs tree (torch.save as HLIP's trainer), Compare Runs on two selected runs (the
 * settings diff and a chart per metric, values under the cursor), and Compare Checkpoints on an open MRI study (the
 * side-by-side table; a checkpoint's map in the viewer). Screenshots go to test-results/ for a person to look at.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NIBABEL } from '../fixtures';
import { runsTree } from '../runs-tree';
import { hostAvailable, launch } from './driver';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('HLIP Runs view, Compare Runs and Compare Checkpoints on a study', { timeout: 480_000 }, async (t) => {
  if (!hostAvailable(t)) return;
  const tree = runsTree();
  const ws = mkdtempSync(join(tmpdir(), 'hlip-ui-runs-'));
  cpSync(tree.logs, join(ws, 'logs'), { recursive: true });
  copyFileSync(tree.vocab, join(ws, 'vocab.txt'));
  copyFileSync(join(NIBABEL, 'anatomical.nii'), join(ws, 'anatomical.nii'));
  const ui = await launch({ folder: ws });
  const page = ui.page;
  try {
    // The view sits in the Explorer; its rows are the runs the workspace holds.
    const row = await ui.openRunsView();
    await row('pd025').waitFor({ timeout: 60_000 });
    assert.match((await row('pd025').textContent()) ?? '', /MRI · 3 epochs · auc \(mri\)/);
    await row('pd025').click();
    await page.keyboard.press('ArrowRight'); // expand: Settings, Weights, epochs
    await row('epoch 3').waitFor({ timeout: 15_000 });
    assert.match((await row('epoch 3').textContent()) ?? '', /latest/);
    await row('Weights').click();
    await page.keyboard.press('ArrowRight');
    await row('pooling').waitFor({ timeout: 15_000 });
    t.diagnostic(`screenshot: ${await ui.screenshot('runs-view')}`);

    // Two runs selected in the view, then Compare Runs.
    await row('pd025').click();
    await row('pd050').click({ modifiers: ['Control'] });
    await ui.runCommand('HLIP: Compare Runs');
    const frame = await ui.findFrame('.charts .chart .u-over', { timeout: 60_000 });
    await frame.waitForFunction(() => document.querySelectorAll('.charts .chart').length === 10, undefined, { timeout: 30_000 });
    assert.match((await frame.textContent('.diff-table')) ?? '', /force_patch_dropout\s*0\.25\s*0\.5/);
    // Hover: the legend shows each run's value at the cursor.
    const plot = frame.locator('.chart[data-chart="logged:auc (mri)"] .u-over');
    const box = (await plot.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.98, box.y + box.height / 2);
    await frame.waitForFunction(() => Array.from(document.querySelectorAll('.chart[data-chart="logged:auc (mri)"] .u-legend .u-value')).some((e) => /^0\.\d/.test(e.textContent ?? '')), undefined, { timeout: 10_000 });
    t.diagnostic(`screenshot: ${await ui.screenshot('runs-compare-hover')}`);
    await frame.click('.chart[data-chart="train:Contrastive_loss"] button[title="Logarithmic y axis"]');
    await frame.waitForSelector('.chart[data-chart="train:Contrastive_loss"] button[aria-pressed="true"]');
    t.diagnostic(`screenshot: ${await ui.screenshot('runs-compare-panel')}`);
    // Export: the save dialog offers a file beside the first run; SVG and PNG land there.
    for (const [format, magic] of [['SVG', '<svg'], ['PNG', '\u0089PNG'], ['CSV', 'chart,x_label,run,source,x,y\nauc (mri),epoch,pd025,logged,1,']] as const) {
      await frame.click(`.chart[data-chart="logged:auc (mri)"] button[title="Save this chart as ${format}"]`);
      await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      const file = join(ws, 'logs', 'pd025', `auc_mri_.${format.toLowerCase()}`);
      for (let i = 0; i < 40 && !existsSync(file); i++) await sleep(250);
      assert.ok(existsSync(file), `${file} was not written`);
      assert.ok(readFileSync(file, 'latin1').startsWith(magic), `${format} content`);
    }

    // An MRI study in the viewer, then two checkpoints compared on it.
    await ui.openFile('anatomical.nii');
    const viewer = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 60_000 });
    await viewer.waitForSelector('#app[data-loaded="true"]', { timeout: 60_000 });
    await ui.runCommand('HLIP: Compare Checkpoints on This Study');
    const pick = async (label: string) => {
      const r = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: label }) }).first();
      await r.waitFor({ timeout: 15_000 });
      await r.click(); // a row of a multi-pick toggles its check box
    };
    await pick('pd025 epoch 3');
    await pick('dinotxt epoch 3');
    await page.keyboard.press('Enter');
    const table = await ui.findFrame('.ckpt-compare[data-running="false"] .ckpt-table tbody tr', { timeout: 240_000 });
    const rows = await table.$$eval('.ckpt-table tbody tr', (trs) => trs.length);
    assert.equal(rows, 74);
    // Columns in the picker's order.
    assert.match((await table.textContent('.ckpt-table thead')) ?? '', /dinotxt epoch_3.*pd025 epoch_3.*Difference/s);
    t.diagnostic(`screenshot: ${await ui.screenshot('runs-compare-checkpoints')}`);
    // The DINO.txt checkpoint's map for the most disputed diagnosis, in the viewer.
    const first = await table.$eval('.ckpt-table tbody tr td.name', (td) => td.textContent);
    await table.click('.ckpt-table tbody tr:first-child td:nth-child(2) button.link');
    await viewer.waitForFunction((n) => (document.getElementById('app')!.dataset.overlay ?? '').startsWith(`dinotxt epoch_3: HLIP: ${n}`), first, { timeout: 60_000 });
    await sleep(500);
    t.diagnostic(`screenshot: ${await ui.screenshot('runs-checkpoint-map-in-viewer')}`);
    assert.deepEqual(ui.errors, []);
  } catch (e) {
    t.diagnostic(`screenshot at failure: ${await ui.screenshot('runs-failure')}`);
    throw e;
  } finally {
    await ui.close();
  }
});
