/**
 * npm run bench:viewer — the viewer in a real VS Code (code-server + headless chromium, as the UI tests):
 *  - open -> first painted slice (the axial plane showing its data), for the first file after start-up (extension
 *    activation, first webview), a 256^3 int16 .nii.gz, and 512x512x300 / 512x512x600 CT series (one slice opens its
 *    series), with where the time went: click -> webview document -> bundle run -> 'ready' -> first host message ->
 *    volume header -> first paint -> all three planes -> all voxels (host-side marks when the host sends them);
 *  - frame time while scrolling (one wheel step per animation frame) in each plane and while dragging window/level;
 *  - the browser's own animation-frame rate in the same page, measured the same way with no work: the peer that
 *    bounds what any viewer could reach here (headless chromium on this machine);
 *  - the first open after start-up three ways: a new user (fresh browser profile), a returning one (the profile of an
 *    earlier session), and once VS Code has settled; against VS Code's own webview editor (the built-in Markdown
 *    preview opened the same way right after start-up), with VS Code's webview marks (its service-worker wait);
 *  - @niivue/niivue (when installed) painting the same .nii.gz in the same chromium (WebGL through SwiftShader).
 * Prints a table and PASS/MISS against the targets (first paint < 1 s NIfTI, < 1.5 s series, first open < 3 s;
 * 60 frames/s). Results also go to bench/results/viewer.json. Needs `npm run setup:host`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Frame } from 'playwright-core';
import { type LaunchOptions, type VSCodeUI, freePort, hostInstalled, launch } from '../test/ui/driver';

const ROOT = resolve(__dirname, '..');
const CACHE = join(ROOT, '.cache', 'bench');
const PY = '/usr/bin/python3';
const NII = join(CACHE, 'vol-256.nii.gz');
const SERIES = join(CACHE, 'ct-512x512x300-series');
const SERIES600 = join(CACHE, 'ct-512x512x600-series');

function ensureInputs(): void {
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(NII)) execFileSync(PY, [join(ROOT, 'bench', 'gen_nifti.py'), NII, '--shape', '256', '256', '256']);
  for (const [dir, nz] of [[SERIES, 300], [SERIES600, 600]] as const) {
    if (!existsSync(dir) || readdirSync(dir).length !== nz) {
      execFileSync(PY, [join(ROOT, 'test', 'oracles', 'make_series.py'), dir, '--shape', '512', '512', String(nz), '--spacing', '0.5', '0.5', '1', '--scramble']);
    }
  }
}

/** Epoch-ms marks the webview keeps (webview/main.ts); `host` ones come from the extension host (session.ts). */
type Marks = Partial<Record<'docStart' | 'scriptStart' | 'readySent' | 'firstMessage' | 'volume' | 'firstChunk' | 'firstPaint' | 'allPlanes' | 'loaded', number>> & {
  host?: Partial<Record<'activated' | 'session' | 'workerStart' | 'headerRead' | 'firstChunkPosted' | 'studyRead', number>>;
  resources?: Record<string, number>;
};
type Probe = {
  renders(): { at: number; ms: number }[];
  marks?(): Marks;
  firstPaintAt(): number | undefined;
  volumeReceivedAt(): number | undefined;
  progressAt(): number | undefined;
};

/** Where the time of one open went, in ms since the click. */
type Breakdown = Record<string, number>;

/** From the click in quick open to the webview's first painted slice, and on to the last voxel. */
async function firstPaint(ui: VSCodeUI, name: string): Promise<{ ms: number; frame: Frame; all: number; breakdown: Breakdown }> {
  const t0 = await ui.openFile(name);
  const frame = await ui.findFrame('#app[data-state="ready"] .viewport[data-slice]', { timeout: 120_000 });
  await frame.waitForFunction(() => (window as unknown as { hlipProbe: Probe }).hlipProbe.firstPaintAt() !== undefined, undefined, { timeout: 120_000 });
  await frame.waitForSelector('#app[data-loaded="true"]', { timeout: 600_000 });
  const all = Date.now() - t0;
  await ui.page.waitForTimeout(300); // the last chunk's frame
  const { marks, paint, received, ready } = await frame.evaluate(() => {
    const p = (window as unknown as { hlipProbe: Probe }).hlipProbe;
    return { marks: p.marks?.() ?? {}, paint: p.firstPaintAt(), received: p.volumeReceivedAt(), ready: p.progressAt() };
  });
  const since = (x?: number) => (x === undefined ? NaN : x - t0);
  const breakdown: Breakdown = {};
  const h = marks.host ?? {};
  const add = (label: string, at?: number) => {
    if (at !== undefined) breakdown[label] = since(at);
  };
  add('host: extension activated', h.activated);
  add('host: viewer session created', h.session);
  add('host: volume worker started', h.workerStart);
  add('host: first volume header + centre slice read', h.headerRead);
  add('host: first voxel chunk posted', h.firstChunkPosted);
  add('host: whole study read', h.studyRead);
  for (const [label, at] of Object.entries(await vscodeWebviewMarks(frame))) add(label, at);
  add('webview: document started', marks.docStart);
  for (const [file, at] of Object.entries(marks.resources ?? {})) add(`webview: ${file} in`, at);
  add('webview: bundle running', marks.scriptStart);
  add("webview: 'ready' sent", marks.readySent);
  add('webview: first host message', marks.firstMessage ?? ready);
  add('webview: volume header in', marks.volume ?? received);
  add('webview: first voxel chunk in', marks.firstChunk);
  add('first paint (axial slice shown)', marks.firstPaint ?? paint);
  add('all three planes shown', marks.allPlanes);
  breakdown['all voxels in'] = all;
  const lines = Object.entries(breakdown).sort((a, b) => a[1] - b[1]).map(([k, v]) => `    ${String(Math.round(v)).padStart(6)} ms  ${k}`);
  console.log(`  ${name}, ms after the click:\n${lines.join('\n')}`);
  return { ms: since(paint ?? Date.now()), frame, all, breakdown };
}

/**
 * VS Code's own marks in the webview's outer frame (pre/index.html, the parent of ours): when it got our content and
 * when its service worker was ready (it writes the content only then), epoch ms.
 */
async function vscodeWebviewMarks(frame: Frame): Promise<Record<string, number>> {
  const outer = frame.parentFrame();
  if (!outer) return {};
  const names: Record<string, string> = {
    'webview/index.html/content/started': 'VS Code webview: content received',
    'webview/index.html/content/workerReady': 'VS Code webview: its service worker ready',
  };
  const marks = await outer
    .evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, performance.timeOrigin + m.startTime] as [string, number]))
    .catch(() => [] as [string, number][]);
  return Object.fromEntries(marks.filter(([n]) => names[n]).map(([n, at]) => [names[n], at]));
}

/**
 * Waits until the workbench knows the extension's contributions (its Runs view is listed). A development extension's
 * arrive a moment after the workbench (an installed one's are known at start-up); a click before would open the scan
 * in the text editor. A warm browser profile starts the workbench fast enough to get there first.
 */
async function contributionsKnown(ui: VSCodeUI): Promise<void> {
  await ui.page.locator('.pane-header', { hasText: 'HLIP Runs' }).waitFor({ timeout: 60_000 });
}

/** A fresh VS Code on `ws` (or a returning user's, with `profile`), its first open of `name` right after start-up. */
async function openAfterStartup(ws: string, name: string, opts: LaunchOptions & { settleMs?: number } = {}) {
  const ui = await launch({ folder: ws, ...opts });
  try {
    await contributionsKnown(ui);
    if (opts.settleMs) await ui.page.waitForTimeout(opts.settleMs);
    return await firstPaint(ui, name);
  } catch (e) {
    await ui.screenshot(`bench-viewer-first-open-failed${opts.profile ? '-returning' : ''}`).catch(() => undefined);
    throw e;
  } finally {
    await ui.close();
  }
}

/** The first open by a returning user: one session opens and closes a scan, a second on the same profile is timed. */
async function returningUserFirstOpen(ws: string, name: string) {
  const profile = { dir: mkdtempSync(join(tmpdir(), 'hlip-bench-profile-')), port: await freePort() };
  try {
    const earlier = await launch({ folder: ws, profile });
    try {
      await firstPaint(earlier, name);
      await earlier.runCommand('View: Close All Editors');
    } finally {
      await earlier.close();
    }
    return await openAfterStartup(ws, name, { profile });
  } finally {
    rmSync(profile.dir, { recursive: true, force: true });
  }
}

/**
 * The peer for the first open: VS Code's built-in Markdown preview as the .md files' editor (a webview custom editor
 * like ours, of a three-line document), opened the same way right after start-up; click -> its heading in the page.
 */
async function markdownPreviewFirstOpen(): Promise<{ ms: number; breakdown: Breakdown }> {
  const ws = mkdtempSync(join(tmpdir(), 'hlip-bench-md-'));
  writeFileSync(join(ws, 'notes.md'), "# Peer\n\nVS Code's own Markdown preview.\n");
  const ui = await launch({ folder: ws, settings: { 'workbench.editorAssociations': { '*.md': 'vscode.markdown.preview.editor' } } });
  try {
    const t0 = await ui.openFile('notes.md');
    const frame = await ui.findFrame('h1', { timeout: 60_000 });
    const ms = Date.now() - t0;
    const breakdown = Object.fromEntries(Object.entries(await vscodeWebviewMarks(frame)).map(([k, at]) => [k, at - t0]));
    const lines = Object.entries({ ...breakdown, 'heading shown': ms }).sort((a, b) => a[1] - b[1]);
    console.log(`  Markdown preview (peer), ms after the click:\n${lines.map(([k, v]) => `    ${String(Math.round(v)).padStart(6)} ms  ${k}`).join('\n')}`);
    return { ms, breakdown };
  } finally {
    await ui.close();
    rmSync(ws, { recursive: true, force: true });
  }
}

/** Drives `steps` interactions, one per animation frame, inside the page; returns frame intervals and render times. */
async function interact(frame: Frame, kind: 'scroll' | 'window' | 'idle', plane = 'axial', steps = 120) {
  return frame.evaluate(
    async ([kind, steps, plane]) => {
      const probe = (window as unknown as { hlipProbe: Probe }).hlipProbe;
      const el = document.querySelector(`.viewport[data-plane="${plane}"] .cs-element`) as HTMLElement;
      const r = el.getBoundingClientRect();
      const cx = r.left + r.width / 2;
      const cy = r.top + r.height / 2;
      const before = probe.renders().length;
      const stamps: number[] = [];
      if (kind === 'window') el.dispatchEvent(new PointerEvent('pointerdown', { clientX: cx, clientY: cy, button: 0, pointerId: 1, bubbles: true }));
      for (let i = 0; i < (steps as number); i++) {
        if (kind === 'scroll') el.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 60 < 30 ? -100 : 100, clientX: cx, clientY: cy, bubbles: true, cancelable: true }));
        if (kind === 'window') el.dispatchEvent(new PointerEvent('pointermove', { clientX: cx + 10 + (i % 40) * 3, clientY: cy + (i % 20), pointerId: 1, bubbles: true }));
        stamps.push(await new Promise<number>((res) => requestAnimationFrame(res)));
      }
      if (kind === 'window') el.dispatchEvent(new PointerEvent('pointerup', { clientX: cx, clientY: cy, pointerId: 1, bubbles: true }));
      await new Promise<number>((res) => requestAnimationFrame(res));
      const renders = probe.renders().slice(before);
      const gaps: number[] = [];
      for (let i = 1; i < stamps.length; i++) gaps.push(stamps[i] - stamps[i - 1]);
      const renderMs: number[] = [];
      for (const x of renders) renderMs.push(x.ms);
      return { gaps, renderMs, renders: renders.length };
    },
    [kind, steps, plane] as const,
  );
}

const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : NaN);
const p95 = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.95)] : NaN);
const f = (x: number, d = 1) => x.toFixed(d);

/** A measure that may fail without losing the others: its result, or why it is missing. */
async function orWhy<T extends object>(p: Promise<T>): Promise<Partial<T> & { why?: string }> {
  try {
    return await p;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    console.log(`  not measured: ${why}`);
    return { why } as Partial<T> & { why: string };
  }
}

/** How long VS Code is left to finish starting for the "settled" first open (its own start-up work is done by then). */
const SETTLE_MS = 6000;

const kb = (f: string) => (existsSync(f) ? Math.round(statSync(f).size / 1024) : NaN);

async function main(): Promise<void> {
  if (!hostInstalled()) throw new Error('code-server / chromium missing: run `npm run setup:host` first');
  ensureInputs();
  if (process.env.HLIP_BENCH_ONLY === 'niivue') return void console.log(await niivuePeer(NII)); // the peer alone
  const ws = mkdtempSync(join(tmpdir(), 'hlip-bench-viewer-'));
  symlinkSync(NII, join(ws, 'vol-256.nii.gz'));
  symlinkSync(NII, join(ws, 'vol-256-again.nii.gz'));
  // The series as a user would have it: .dcm names, so the viewer is the default editor.
  for (const [dir, name] of [[SERIES, 'ct-series'], [SERIES600, 'ct-series-600']]) {
    mkdirSync(join(ws, name));
    readdirSync(dir).sort().forEach((f, i) => symlinkSync(join(dir, f), join(ws, name, `slice${String(i).padStart(3, '0')}.dcm`)));
  }
  const bundles = Object.fromEntries(['extension.js', 'webview.js', 'volume-worker.js'].map((f) => [f, kb(join(ROOT, 'dist', f))]));
  console.log(`bundles (KiB): ${Object.entries(bundles).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const ui = await launch({ folder: ws });
  await contributionsKnown(ui);
  const results: Record<string, unknown> = { cpus: cpus().length, node: process.version, bundlesKiB: bundles };
  try {
    // The first open also activates the extension and boots the first webview: the first-open figure.
    const cold = await firstPaint(ui, 'vol-256.nii.gz');
    await ui.runCommand('View: Close All Editors');
    const nii = await firstPaint(ui, 'vol-256-again.nii.gz');
    const idle = await interact(nii.frame, 'idle');
    const scroll = await interact(nii.frame, 'scroll');
    const wl = await interact(nii.frame, 'window');
    await ui.screenshot('bench-viewer-nifti');
    await ui.runCommand('View: Close All Editors');

    // One slice of the series opens the whole series (as radiology viewers do).
    const series = await firstPaint(ui, 'ct-series/slice150.dcm');
    const sScroll = await interact(series.frame, 'scroll', 'axial');
    const sScrollCor = await interact(series.frame, 'scroll', 'coronal');
    const sScrollSag = await interact(series.frame, 'scroll', 'sagittal');
    const sWl = await interact(series.frame, 'window');
    await ui.screenshot('bench-viewer-series');
    await ui.runCommand('View: Close All Editors');
    // HLIP_BENCH_QUICK=1 (while working on it): no 600-slice series (its rows repeat the 300's), no niivue.
    const quick = process.env.HLIP_BENCH_QUICK === '1';
    const series600 = quick ? series : await firstPaint(ui, 'ct-series-600/slice300.dcm');
    const s6Scroll = quick ? sScrollCor : await interact(series600.frame, 'scroll', 'coronal');
    if (!quick) await ui.screenshot('bench-viewer-series-600');
    await ui.runCommand('View: Close All Editors');
    const peerNiivue = quick ? { why: 'HLIP_BENCH_QUICK=1' } : await niivuePeer(NII);
    // The first open after start-up, each in a VS Code of its own (after the main session: nothing else runs then).
    await ui.close();
    const returning = await orWhy(returningUserFirstOpen(ws, 'vol-256.nii.gz'));
    const settled = await orWhy(openAfterStartup(ws, 'vol-256.nii.gz', { settleMs: SETTLE_MS }));
    const mdPeer = await orWhy(markdownPreviewFirstOpen());
    const shown = (r: { ms?: number; why?: string }) => (r.ms !== undefined ? `${r.ms} ms` : `not measured: ${r.why}`);

    const fps = (gaps: number[]) => 1000 / median(gaps);
    const peer = fps(idle.gaps);
    const rows: [string, string, string, string][] = [
      ['first paint, first file after start-up (activation, first webview)', `${cold.ms} ms`, '< 3000 ms', cold.ms < 3000 ? 'PASS' : 'MISS'],
      ['  the same, a returning user (browser profile of an earlier session)', shown(returning), '< 3000 ms', returning.ms === undefined ? '' : returning.ms < 3000 ? 'PASS' : 'MISS'],
      [`  the same, ${SETTLE_MS / 1000} s after start-up (VS Code settled)`, shown(settled), '', ''],
      ["  VS Code's Markdown preview, first open after start-up (peer)", shown(mdPeer), '', ''],
      ['  ours (new user) / Markdown preview', mdPeer.ms ? `${f(cold.ms / mdPeer.ms, 2)}x` : '-', '', ''],
      ['first paint, 256^3 int16 .nii.gz', `${nii.ms} ms`, '< 1000 ms', nii.ms < 1000 ? 'PASS' : 'MISS'],
      ['first paint, 512x512x300 CT series', `${series.ms} ms`, '< 1500 ms', series.ms < 1500 ? 'PASS' : 'MISS'],
      ['first paint, 512x512x600 CT series', `${series600.ms} ms`, '', ''],
      ['all voxels in: .nii.gz / 300 series / 600 series', `${nii.all} / ${series.all} / ${series600.all} ms`, '', ''],
      ['browser animation frames, idle (peer)', `${f(peer)} fps`, '', ''],
    ];
    if (peerNiivue.ms !== undefined) {
      rows.push(['@niivue/niivue first paint, same .nii.gz (peer)', `${peerNiivue.ms} ms`, '', '']);
      rows.push(['  ours (warm .nii.gz, from the click) / niivue (from navigation)', `${f(nii.ms / peerNiivue.ms, 2)}x`, '', '']);
    } else rows.push(['@niivue/niivue peer', 'not run', '', peerNiivue.why ?? '']);
    const interactions = [
      ['NIfTI scroll', scroll], ['NIfTI window/level drag', wl],
      ['series scroll, axial', sScroll], ['series scroll, coronal', sScrollCor], ['series scroll, sagittal', sScrollSag],
      ['series window/level drag', sWl], ['600 series scroll, coronal', s6Scroll],
    ] as const;
    for (const [name, r] of interactions) {
      const rate = fps(r.gaps);
      const ok = rate >= 58 && p95(r.renderMs) < 1000 / 60;
      rows.push([
        `${name}: frame rate (render p50 ${f(median(r.renderMs))} / p95 ${f(p95(r.renderMs))} ms)`,
        `${f(rate)} fps = ${f((rate / peer) * 100, 0)}% of idle`,
        '60 fps, p95 < 16.7 ms',
        ok ? 'PASS' : 'MISS',
      ]);
      results[name] = { fps: rate, renderP50: median(r.renderMs), renderP95: p95(r.renderMs), renders: r.renders };
    }
    Object.assign(results, {
      firstPaintColdMs: cold.ms, firstPaintReturningMs: returning.ms, firstPaintSettledMs: settled.ms, markdownPreviewFirstOpenMs: mdPeer.ms,
      firstPaintNiftiMs: nii.ms, firstPaintSeriesMs: series.ms, firstPaintSeries600Ms: series600.ms,
      allVoxelsMs: { nifti: nii.all, series: series.all, series600: series600.all }, idleFps: peer, niivue: peerNiivue,
      breakdown: { cold: cold.breakdown, returning: returning.breakdown, settled: settled.breakdown, markdownPreview: mdPeer.breakdown, nifti: nii.breakdown, series: series.breakdown, series600: series600.breakdown },
    });
    console.log(`\nviewer benchmark (${cpus().length} CPUs, headless chromium, code-server)\n`);
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const r of rows) console.log(`${r[0].padEnd(w)}  ${r[1].padStart(26)}  ${r[2].padStart(21)}  ${r[3]}`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'viewer.json'), JSON.stringify(results, null, 2));
  } finally {
    await ui.close();
  }
}

/**
 * @niivue/niivue painting the same .nii.gz in the same chromium: a page served from 127.0.0.1 loads niivue's bundle
 * and fetches the file; the time runs from navigation start to the frame after niivue drew the loaded volume (the
 * second run, warm). WebGL 2 in headless chromium needs SwiftShader, so this is a second browser with those flags.
 */
async function niivuePeer(nii: string): Promise<{ ms?: number; why?: string }> {
  try {
    return await runNiivue(nii);
  } catch (e) {
    return { why: `niivue did not run: ${e instanceof Error ? e.message.split('\n')[0] : e}` };
  }
}

const NIIVUE_VERSION = '0.69.0';
const NIIVUE_DIR = join(CACHE, 'niivue');

/** Installs the peer into .cache/bench/niivue (not a dependency of the extension); undefined when npm cannot. */
function niivueEntry(): string | undefined {
  const entry = join(NIIVUE_DIR, 'node_modules', '@niivue', 'niivue', 'build', 'niivue', 'index.js');
  if (!existsSync(entry)) {
    mkdirSync(NIIVUE_DIR, { recursive: true });
    writeFileSync(join(NIIVUE_DIR, 'package.json'), '{"private":true}\n');
    try {
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', `@niivue/niivue@${NIIVUE_VERSION}`], { cwd: NIIVUE_DIR, stdio: 'pipe' });
    } catch {
      return undefined;
    }
  }
  return existsSync(entry) ? entry : undefined;
}

async function runNiivue(nii: string): Promise<{ ms?: number; why?: string }> {
  const entry = niivueEntry();
  if (!entry) return { why: `@niivue/niivue ${NIIVUE_VERSION} could not be installed into ${NIIVUE_DIR}` };
  const esbuild = await import('esbuild');
  const bundle = join(NIIVUE_DIR, 'peer.js');
  writeFileSync(join(NIIVUE_DIR, 'peer-entry.js'), `import { Niivue } from ${JSON.stringify(entry)};\nwindow.Niivue = Niivue;\n`);
  await esbuild.build({ entryPoints: [join(NIIVUE_DIR, 'peer-entry.js')], bundle: true, format: 'iife', outfile: bundle, logLevel: 'error' });
  const page = `<!DOCTYPE html><html><body style="margin:0;background:#000">
<canvas id="gl" width="1280" height="640"></canvas>
<script src="/peer.js"></script>
<script>
window.peer = (async () => {
  const nv = new Niivue({ show3Dcrosshair: false, isResizeCanvas: false });
  await nv.attachTo('gl');
  nv.setSliceType(nv.sliceTypeMultiplanar);
  await nv.loadVolumes([{ url: '/vol.nii.gz' }]);
  nv.drawScene();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const gl = document.getElementById('gl').getContext('webgl2');
  const dbg = gl.getExtension('WEBGL_debug_renderer_info');
  return { ms: performance.now(), renderer: gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER) };
})();
</script></body></html>`;
  const { createServer } = await import('node:http');
  const { readFileSync } = await import('node:fs');
  const files: Record<string, [string, () => Buffer | string]> = {
    '/': ['text/html', () => page],
    '/peer.js': ['text/javascript', () => readFileSync(bundle)],
    '/vol.nii.gz': ['application/octet-stream', () => readFileSync(nii)],
  };
  const server = createServer((req, res) => {
    const f = files[(req.url ?? '').split('?')[0]];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const cs = require('../test/host/code-server.js') as { launchBrowser(o: { args: string[] }): Promise<import('playwright-core').Browser> };
  // WebGL 2 without a GPU: SwiftShader (chromium refuses it unless asked).
  const browser = await cs.launchBrowser({ args: ['--enable-unsafe-swiftshader', '--use-gl=angle', '--use-angle=swiftshader', '--ignore-gpu-blocklist'] });
  try {
    const p = await browser.newPage({ viewport: { width: 1280, height: 640 } });
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    let best: number | undefined;
    let info = '';
    for (let run = 0; run < 2; run++) {
      // The first run warms the HTTP cache and the bundle's code cache, as the viewer's own warm open does.
      await p.goto(`http://127.0.0.1:${port}/?run=${run}`);
      const r = (await p.evaluate(() => (window as unknown as { peer: Promise<{ ms: number; renderer: string }> }).peer).catch((e) => {
        errors.push(String(e));
        return undefined;
      }));
      if (!r) break;
      info = r.renderer;
      if (run > 0) best = Math.min(best ?? Infinity, Math.round(r.ms));
    }
    if (best === undefined) return { why: `niivue did not render: ${errors.slice(0, 2).join('; ') || 'no WebGL 2'}` };
    await p.screenshot({ path: join(ROOT, 'test-results', 'bench-viewer-niivue.png') }).catch(() => undefined);
    console.log(`  @niivue/niivue ${NIIVUE_VERSION}: ${info}`);
    return { ms: best };
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
