/**
 * UI smoke test in a real VS Code (code-server + headless chromium): the workbench loads with this extension as a
 * development extension, our command is in the command palette, and quick open opens a workspace file.
 * Needs `npm run setup:host`; without it the test is skipped (fails under CI=true). Screenshots: test-results/.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostAvailable, launch } from './driver';

test('the workbench loads with the extension and lists "HLIP: Open Folder as Study"', { timeout: 240_000 }, async (t) => {
  if (!hostAvailable(t)) return;
  const workspace = mkdtempSync(join(tmpdir(), 'hlip-ui-smoke-'));
  writeFileSync(join(workspace, 'notes.txt'), 'UI smoke test\n');
  const t0 = Date.now();
  const ui = await launch({ folder: workspace }).catch((e) => {
    rmSync(workspace, { recursive: true, force: true });
    throw e;
  });
  t.diagnostic(`workbench ready in ${Date.now() - t0} ms (code-server ${ui.server.authority})`);
  try {
    const rows = await ui.commandPaletteItems('HLIP: Open Folder', { expect: 'HLIP: Open Folder as Study' });
    assert.ok(rows.includes('HLIP: Open Folder as Study'), `palette rows: ${rows.join(' | ')}`);

    await ui.openFile('notes.txt');
    assert.match(await ui.editorText(), /UI smoke test/);
    t.diagnostic(`screenshot: ${await ui.screenshot('ui-smoke')}`);
    if (ui.errors.length) t.diagnostic(`page errors:\n${ui.errors.map((e) => e.slice(0, 200)).join('\n')}`);
  } catch (e) {
    await ui.screenshot('ui-smoke-failure').catch(() => {});
    throw e;
  } finally {
    await ui.close();
    rmSync(workspace, { recursive: true, force: true });
  }
});
