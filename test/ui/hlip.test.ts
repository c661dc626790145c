/**
 * HLIP as a user sees it, in a real VS Code (code-server + headless chromium): pick the built-in demo model from the
 * palette, classify a real MRI (nibabel's anatomical.nii) with "HLIP: Classify Study", and see ranked scores, the
 * untrained-weights banner, the provider, and the CLS attention overlay on the scan; a diagnosis' map and a custom
 * prompt's word pieces follow. Screenshots go to test-results/ for a person to look at.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchOnFixtures } from './driver';

test('classify a study with the demo model: scores, banner, provider, attention overlay, diagnosis map, prompt, saved prompt set', { timeout: 420_000 }, async (t) => {
  const launched = await launchOnFixtures(t, 'classify');
  if (!launched) return;
  const { ui } = launched;
  try {
    await ui.openFile('anatomical.nii');
    const frame = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 60_000 });
    await frame.waitForSelector('#app[data-loaded="true"]', { timeout: 60_000 });

    await ui.runCommand('HLIP: Use Built-in Demo Model (untrained)');
    await ui.waitForNotification('is ready', { timeout: 180_000 });
    // The palette runs the command on the active viewer; the webview reports progress, then the results.
    await ui.runCommand('HLIP: Classify Study');
    await frame.waitForSelector('#app[data-classify="done"]', { timeout: 240_000 });
    await frame.waitForFunction(() => (document.getElementById('app')!.dataset.overlay ?? '').startsWith('HLIP: CLS attention'), undefined, { timeout: 60_000 });

    const rows = await frame.$$eval('#scores tbody tr', (trs) => trs.map((tr) => ({ name: tr.getAttribute('data-class'), score: Number(tr.querySelector('.score')!.textContent) })));
    assert.equal(rows.length, 74, 'the brain-MRI set has 74 diagnoses');
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].score >= rows[i].score, 'ranked by score');
    assert.match(await frame.textContent('.untrained') ?? '', /Untrained demo weights/);
    assert.match(await frame.textContent('#results-provider') ?? '', /Ran on cpu/);
    t.diagnostic(`screenshot: ${await ui.screenshot('hlip-results-cls-attention')}`);

    // The filter narrows the list; a diagnosis' Map button overlays its patch-token map.
    await frame.fill('.results-filter', 'glioma');
    await frame.waitForFunction(() => document.querySelectorAll('#scores tbody tr').length < 74);
    const first = await frame.$('#scores tbody tr .map-button');
    assert.ok(first, 'DINO.txt models offer a per-diagnosis map');
    const name = await frame.$eval('#scores tbody tr', (tr) => tr.getAttribute('data-class'));
    await first!.click();
    await frame.waitForFunction((n) => document.getElementById('app')!.dataset.overlay?.startsWith(`HLIP: ${n}`), name, { timeout: 60_000 });
    t.diagnostic(`screenshot: ${await ui.screenshot('hlip-results-diagnosis-map')}`);

    // A custom prompt: its word pieces and cosine appear.
    await frame.fill('#prompt-input', 'This study shows: Glioma!');
    await frame.press('#prompt-input', 'Enter');
    await frame.waitForSelector('#prompt-result .piece', { timeout: 60_000 });
    const pieces = await frame.$$eval('#prompt-result .piece', (els) => els.map((e) => e.textContent));
    assert.deepEqual(pieces.slice(0, 2), ['[CLS]', 'this']);
    assert.ok(pieces.includes('glioma') && pieces.includes('!') && pieces.at(-1) === '[SEP]', pieces.join(' '));
    t.diagnostic(`screenshot: ${await ui.screenshot('hlip-results-prompt')}`);

    // Saved prompts form a set of their own, ranked next to the diagnoses, and persist (global state).
    await frame.click('#prompt-save');
    await frame.waitForSelector('.set-tabs button[data-set="custom"]', { timeout: 60_000 });
    await frame.click('.set-tabs button[data-set="custom"]');
    await frame.fill('.results-filter', '');
    await frame.waitForSelector('#scores tbody tr[data-class="This study shows: Glioma!"]');
    assert.match(await frame.textContent('#saved-prompts') ?? '', /Glioma!/);
    t.diagnostic(`screenshot: ${await ui.screenshot('hlip-results-my-prompts')}`);
  } finally {
    await ui.close();
  }
});
