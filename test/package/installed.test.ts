/**
 * What a user installs, tested in a real VS Code: the linux-x64 .vsix (npm run package's production build) is installed
 * with `code-server --install-extension` into a fresh profile, and the workbench runs it from there (no development
 * extension, no source tree): a NIfTI, a JPEG 2000 DICOM series and a 4D NIfTI open; the demo model classifies and the
 * scores are read from the webview; the walkthrough opens and its first step opens the bundled sample scan.
 * Screenshots: test-results/installed-*.png. Needs `npm run setup:host` (skipped without it; a failure under CI=true).
 * HLIP_VSIX=path tests an already built package instead of packing one.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NIBABEL, PYDICOM, SYSTEM_PYTHON } from '../fixtures';
import { hostAvailable, launch, type VSCodeUI } from '../ui/driver';
import { ROOT, requiredFor, runtimeFiles, unwanted } from './runtime-files';

const cs = require('../host/code-server.js') as { CODE_SERVER_BIN: string; CODE_SERVER_NODE: string };
const pkg = import('../../scripts/package.mjs');
const MB = 2 ** 20;
const VIEWER_READY = '#app[data-state="ready"] .viewport[data-slice]';

/** Every file under `dir`, relative, with / separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** Installs `vsix` into a fresh extensions folder with code-server's CLI; returns the folder and the extension's path. */
function install(vsix: string, profile: string): { extensionsDir: string; extensionPath: string } {
  const extensionsDir = join(profile, 'extensions');
  const xdg = (k: string) => join(profile, 'xdg', k);
  const env = { ...process.env, XDG_CONFIG_HOME: xdg('config'), XDG_DATA_HOME: xdg('data'), XDG_CACHE_HOME: xdg('cache'), NODE_OPTIONS: '' };
  const out = execFileSync(cs.CODE_SERVER_NODE, [cs.CODE_SERVER_BIN, '--extensions-dir', extensionsDir, '--user-data-dir', join(profile, 'user-data'), '--install-extension', vsix], { env, encoding: 'utf8' });
  assert.match(out, /successfully installed/, out);
  const dirs = readdirSync(extensionsDir).filter((d) => d.startsWith('hlip-viewer.hlip-viewer-'));
  assert.equal(dirs.length, 1, `installed: ${readdirSync(extensionsDir).join(', ')}`);
  return { extensionsDir, extensionPath: join(extensionsDir, dirs[0]) };
}

/** The workspace: a NIfTI, a 4D NIfTI and a JPEG 2000 series (pydicom's J2K slice repeated along its normal). */
function workspace(dir: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(NIBABEL, 'anatomical.nii'), join(dir, 'anatomical.nii'));
  copyFileSync(join(NIBABEL, 'example4d.nii.gz'), join(dir, 'example4d.nii.gz'));
  execFileSync(SYSTEM_PYTHON, [join(__dirname, 'make_j2k_series.py'), join(PYDICOM, 'MR_small_jp2klossless.dcm'), join(dir, 'j2k'), '6'], { stdio: 'pipe' });
  return dir;
}

/** Opens a file (alone: the frame found is its viewer's) and waits for it to paint; returns the viewer's frame. */
async function openScan(ui: VSCodeUI, path: string) {
  await ui.runCommand('View: Close All Editors');
  await ui.openFile(path, { timeout: 60_000 });
  const frame = await ui.findFrame(VIEWER_READY, { timeout: 90_000 });
  await frame.waitForSelector('#app[data-loaded="true"]', { timeout: 90_000 });
  return frame;
}

test('the installed linux-x64 package: viewer (NIfTI, J2K series, 4D), demo classification, walkthrough', { timeout: 1_200_000 }, async (t) => {
  if (!hostAvailable(t)) return;
  const temp = mkdtempSync(join(tmpdir(), 'hlip-installed-'));
  let ui: VSCodeUI | undefined;
  try {
    // 1. The package, as `npm run package` makes it.
    let vsix = process.env.HLIP_VSIX;
    if (!vsix) {
      const { stage, packageTarget } = await pkg;
      const t0 = Date.now();
      vsix = packageTarget('linux-x64', stage(temp), temp);
      t.diagnostic(`built and packed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const size = statSync(vsix).size;
    t.diagnostic(`${vsix}: ${(size / MB).toFixed(1)} MB`);
    assert.ok(size < 60 * MB, `linux-x64 package is ${(size / MB).toFixed(1)} MB`);

    // 2. Installed into a fresh profile; what landed on disk is what the code needs, from the package only.
    const { extensionsDir, extensionPath } = install(vsix, join(temp, 'profile'));
    const files = filesUnder(extensionPath);
    const needs = runtimeFiles();
    const have = new Set(files);
    // vsce stores LICENSE as LICENSE.txt and README.md as readme.md
    const missing = requiredFor('linux-x64', needs).filter((f) => !have.has(f) && !(f === 'LICENSE' && have.has('LICENSE.txt')));
    assert.deepEqual(missing, [], 'runtime files missing from the installed extension');
    assert.deepEqual(unwanted('linux-x64', files, needs), [], 'files that must not be installed');
    assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');
    assert.doesNotMatch(readFileSync(join(extensionPath, 'dist', 'extension.js'), 'utf8').slice(0, 4000), /\n {2}\S/, 'production build: minified');
    t.diagnostic(`installed ${files.length} files into ${extensionPath}`);

    // 3. The workbench with the installed extension only.
    const folder = workspace(join(temp, 'workspace'));
    // A bad setting: reported once, the default used (the classification below still runs).
    ui = await launch({ folder, extensionDevelopmentPath: false, extensionsDir, settings: { 'hlip.executionProviders': ['gpu'] } });
    const running = ui;

    // A NIfTI: served from the installed folder, not the repository.
    let frame = await openScan(running, 'anatomical.nii');
    const scriptSrc = await frame.$eval('script[src]', (s) => (s as HTMLScriptElement).src);
    assert.match(decodeURIComponent(scriptSrc), /hlip-viewer\.hlip-viewer-[^/]+\/dist\/webview\.js/);
    assert.ok(!decodeURIComponent(scriptSrc).includes(ROOT + '/dist'), scriptSrc);
    t.diagnostic(`screenshot: ${await running.screenshot('installed-nifti')}`);

    // The demo model classifies the NIfTI; the scores come from the webview's results table.
    await running.runCommand('HLIP: Use Built-in Demo Model (untrained)');
    await running.waitForNotification('is ready', { timeout: 240_000 });
    await running.runCommand('HLIP: Classify Study');
    await frame.waitForSelector('#app[data-classify="done"]', { timeout: 300_000 });
    const warning = await running.waitForNotification('hlip.executionProviders', { timeout: 30_000 });
    assert.match(warning, /has an item that is "gpu", not one of .*; using its default, \[\]/);
    assert.equal((await running.notifications()).filter((m) => m.includes('hlip.executionProviders')).length, 1, 'reported once');
    await running.page.keyboard.press('Escape');
    const scores = await frame.$$eval('#scores tbody tr', (trs) => trs.map((tr) => Number(tr.querySelector('.score')?.textContent)));
    assert.equal(scores.length, 74, 'the brain-MRI set has 74 diagnoses');
    assert.ok(scores.every(Number.isFinite), scores.join(' '));
    assert.ok(scores.some((s) => s !== scores[0]), 'scores differ');
    assert.match((await frame.textContent('.untrained')) ?? '', /Untrained demo weights/);
    t.diagnostic(`scores: ${scores.slice(0, 3).join(', ')} ... ${scores.at(-1)}; ${(await frame.textContent('#results-provider'))?.trim()}`);
    t.diagnostic(`screenshot: ${await running.screenshot('installed-classified')}`);

    // A JPEG 2000 series (the OpenJPEG .wasm from the package) and a 4D NIfTI.
    frame = await openScan(running, 'j2k/IM0003.dcm');
    assert.equal(await frame.getAttribute('.viewport[data-plane="axial"]', 'data-depth'), '6', 'one slice of the series opens all 6');
    t.diagnostic(`screenshot: ${await running.screenshot('installed-j2k-series')}`);
    frame = await openScan(running, 'example4d.nii.gz');
    await frame.waitForSelector('#frame:not([hidden])', { timeout: 30_000 });
    assert.equal(await frame.getAttribute('#frame', 'max'), '1', 'two time points');
    assert.match((await frame.textContent('.viewport[data-plane="axial"] .viewport-info')) ?? '', /t 1\/2/);
    t.diagnostic(`screenshot: ${await running.screenshot('installed-4d')}`);

    // The walkthrough opens from the palette, and its first step opens the bundled sample.
    await running.runCommand('View: Close All Editors');
    await running.runCommand('HLIP: Get Started');
    const page = running.page;
    await page.getByText('Get started with HLIP Volume Viewer').first().waitFor({ timeout: 30_000 });
    await page.getByText('Open a sample scan').first().click();
    t.diagnostic(`screenshot: ${await running.screenshot('installed-walkthrough')}`);
    await page.getByRole('button', { name: 'Open Sample Scan' }).first().click();
    await running.editorTab('anatomical.nii').waitFor({ state: 'visible', timeout: 30_000 });
    const sample = await running.findFrame(VIEWER_READY, { timeout: 60_000 });
    await sample.waitForSelector('#app[data-loaded="true"]', { timeout: 60_000 });
    assert.match((await page.locator('.editor-group-container.active .breadcrumbs-control').innerText()).replace(/\s+/g, '/'), /hlip-viewer\.hlip-viewer-[^/]+\/media\/sample/, 'the sample comes from the installed extension');
    t.diagnostic(`screenshot: ${await running.screenshot('installed-sample')}`);

    // Runtime info: the package's CLI probes the providers in a child process; the report opens in an editor.
    await running.runCommand('View: Close All Editors');
    await running.runCommand('HLIP: Show Runtime Info');
    await page.getByText('HLIP runtime').first().waitFor({ timeout: 120_000 });
    const report = await running.editorText();
    assert.match(report, /onnxruntime-node 1\.\d+\.\d+ on linux-x64/);
    assert.match(report, /In use: cpu/);
    assert.match(report, /\| cpu \| yes \| yes \|/);
    // the editor wraps long lines (markdown word wrap): lines joined again for the path
    assert.match(report.replace(/\n/g, ''), /Model cache: .*globalStorage.*models`, [\d.]+ (KB|MB) in [1-9]\d* converted model/);
    t.diagnostic(`screenshot: ${await running.screenshot('installed-runtime-info')}`);
    if (running.errors.length) t.diagnostic(`page errors:\n${running.errors.map((e) => e.slice(0, 200)).join('\n')}`);
  } catch (e) {
    await ui?.screenshot('installed-failure').catch(() => {});
    throw e;
  } finally {
    await ui?.close();
    if (process.env.HLIP_KEEP_TEMP !== '1') rmSync(temp, { recursive: true, force: true });
    else t.diagnostic(`kept ${temp}`);
  }
});

if (!existsSync(join(ROOT, 'node_modules', '@vscode', 'vsce'))) throw new Error('@vscode/vsce is missing: run npm ci');
