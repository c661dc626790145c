/**
 * "HLIP: Evaluate Checkpoints" as a user runs it in a real VS Code (code-server + headless chromium): a training run
 * picked in the HLIP Runs view, the set, data folder, labels CSV and layout answered in VS Code's own pickers and file
 * dialogs, progress, then the Compare panel: figures with intervals sorted by the paired difference, the evaluated
 * series next to the logged one, and a study from the error analysis opened in the viewer with the checkpoint's
 * diagnosis map. Screenshots go to test-results/ for a person to look at.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, SYSTEM_PYTHON } from '../fixtures';
import { runsTree } from '../runs-tree';
import { hostAvailable, launch } from './driver';

test('Evaluate Checkpoints from the Runs view: figures, chart, error analysis in the viewer', { timeout: 600_000 }, async (t) => {
  if (!hostAvailable(t)) return;
  const tree = runsTree();
  const ws = mkdtempSync(join(tmpdir(), 'hlip-ui-eval-'));
  cpSync(join(tree.logs, 'dinotxt'), join(ws, 'logs', 'dinotxt'), { recursive: true });
  copyFileSync(tree.vocab, join(ws, 'logs', 'dinotxt', 'checkpoints', 'vocab.txt')); // the tokenizer beside the checkpoints
  execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'make_eval_data.py'), join(ws, 'evaldata'), 'mri', '8', '16', '64', '64', '6']);
  const ui = await launch({ folder: ws });
  const page = ui.page;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const title = () => page.locator('.quick-input-widget .quick-input-title').textContent().then((s) => s ?? '');
  /** Answers the open quick input with `value` until its title leaves `stage` (file dialogs complete while typing). */
  const answer = async (stage: RegExp, value: string) => {
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    for (let i = 0; i < 8 && stage.test(await title().catch(() => '')) && (await input.isVisible()); i++) {
      await input.fill(value);
      await page.waitForTimeout(400);
      await page.keyboard.press('Enter');
      await page.waitForTimeout(600);
    }
    assert.ok(!stage.test(await title().catch(() => '')) || !(await input.isVisible()), `the dialog "${stage.source}" did not take ${value}`);
  };
  try {
    const row = (await ui.openRunsView())('dinotxt');
    await row.waitFor({ timeout: 60_000 });
    await row.click();

    await ui.runCommand('HLIP: Evaluate Checkpoints');
    await answer(/Zero-shot set/, 'mri');
    await answer(/Folder of the labelled studies/, join(ws, 'evaldata', 'raw'));
    await answer(/Labels CSV/, join(ws, 'evaldata', 'labels.csv'));
    await answer(/Data layout/, 'raw');

    const frame = await ui.findFrame('.evaluation[data-running="false"] .eval-table tbody tr', { timeout: 300_000 });
    assert.match((await frame.textContent('.evaluation .toolbar strong')) ?? '', /Evaluation: mri \(raw layout\), 8 studies, 0 skipped/);
    assert.match((await frame.textContent('.eval-table thead')) ?? '', /epoch_1.*epoch_2.*epoch_2 - epoch_1/s);
    await frame.click('#sort-difference');
    const diffs = await frame.$$eval('.eval-table tbody tr td.diff', (tds) => tds.map((td) => Number.parseFloat(td.textContent ?? '')));
    const finite = diffs.filter((d) => Number.isFinite(d));
    assert.ok(finite.length > 10 && finite.every((d, i) => i === 0 || d <= finite[i - 1]), 'figures not sorted by difference');
    t.diagnostic(`screenshot: ${await ui.screenshot('eval-figures-sorted')}`);

    // The evaluated series beside the logged one, in the run's chart.
    const chart = frame.locator('.chart[data-chart="logged:auc (mri)"]');
    await chart.scrollIntoViewIfNeeded();
    t.diagnostic(`screenshot: ${await ui.screenshot('eval-chart-evaluated-vs-logged')}`);

    // Error analysis: the highest-scored negative for "brain tumor", opened in the viewer with epoch 3's map.
    await frame.locator('#error-diagnosis').scrollIntoViewIfNeeded();
    await frame.selectOption('.evaluation select[aria-label="Checkpoint"]', { label: 'epoch_3' });
    await frame.selectOption('#error-diagnosis', 'brain tumor');
    const first = frame.locator('.error-lists .error-list').first().locator('button.link').first();
    const study = (await first.textContent()) ?? '';
    t.diagnostic(`screenshot: ${await ui.screenshot('eval-error-analysis')}`);
    await first.click();
    const viewer = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 120_000 });
    await viewer.waitForFunction(() => /brain tumor/.test(document.getElementById('app')!.dataset.overlay ?? ''), undefined, { timeout: 180_000 });
    await page.waitForTimeout(500);
    t.diagnostic(`screenshot (${study}): ${await ui.screenshot('eval-error-study-map-in-viewer')}`);
    // code-server's own GitHub sign-in provider times out on a machine without network: not ours.
    assert.deepEqual(ui.errors.filter((e) => !/authentication provider 'github'/.test(e)), []);
  } catch (e) {
    t.diagnostic(`screenshot at failure: ${await ui.screenshot('eval-failure')}`);
    throw e;
  } finally {
    await ui.close();
  }
});
