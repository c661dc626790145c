/**
 * Webview entry: builds the page (toolbar, series list, viewports, header panel, status line), talks to the host
 * through the typed protocol, and shows errors in place (never a blank panel).
 */
import { type HostMessage, type StudyEntry, type ViewerCommand, type WebviewMessage, parseHostMessage } from '../src/protocol';
import { COLORMAPS, type ColormapName } from './colormap-tables';
import { DisplayVolume } from './display';
import { Overlay } from './overlay';
import { PLANES, type Plane } from './reslice';
import { ResultsPanel, type ViewerRequests } from './results';
import { PendingRequests } from '../src/shared/request-pairing';
import { saveScreenshot } from './screenshot';
import { el, headerTable, option } from './ui';
import { LAYOUTS, type Layout, Viewer } from './viewer';
import { CT_PRESETS } from './windowing';

/** Bytes per voxel of each stored type (RGB: three). */
const BYTES = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8, rgb24: 3 } as const;

/** When this bundle started running (the benchmark's breakdown: page load vs bundle vs host). */
const scriptStart = Date.now();

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
const vscode = acquireVsCodeApi();
const send = (m: WebviewMessage) => vscode.postMessage(m);

const app = document.getElementById('app')!;
app.replaceChildren();

// ---- page structure
const toolbar = el('div', { class: 'toolbar', role: 'toolbar' });
const loading = el('span', { class: 'loading', id: 'loading', role: 'status' });
const side = el('aside', { class: 'series-panel', hidden: '' });
const grid = el('div', { class: 'grid', 'data-empty': 'true' });
const headerPanel = el('aside', { class: 'header-panel', hidden: '' });
const statusLine = el('div', { class: 'status-line' });
const message = el('div', { class: 'message', hidden: '' });
const requests: ViewerRequests = new PendingRequests((id, request) => send({ type: 'request', id, request }));
const results = new ResultsPanel(requests, () => send({ type: 'cancelClassify' }));
const main = el('div', { class: 'main' }, side, grid, headerPanel, results.root);
app.append(toolbar, main, statusLine, message);

let lastCursor = '';
/** Render timings for the viewer benchmark: when each frame finished and how long its slices took. */
const renders: { at: number; ms: number }[] = [];
let firstPaintAt: number | undefined;
let volumeReceivedAt: number | undefined;
let progressAt: number | undefined;
/** Epoch-ms marks of this page's life and the host's (from the study message), for the benchmark. */
const marks: Record<string, number | Record<string, number>> = { docStart: Math.round(performance.timeOrigin), scriptStart };
const viewer = new Viewer(grid, {
  cursor: (text) => {
    statusLine.textContent = text;
    if (text !== lastCursor) send({ type: 'cursor', text: (lastCursor = text) });
  },
  rendered: (ms, painted) => {
    renders.push({ at: performance.now(), ms });
    if (renders.length > 2000) renders.splice(0, 1000);
    // First paint: the axial plane showing its data (a streamed volume shows black until its first slice is in).
    if (painted.includes('axial')) firstPaintAt ??= Date.now();
    if (painted.length === 3) marks.allPlanes ??= Date.now();
    const s = viewer.views.map((v) => v.slice) as [number, number, number];
    app.dataset.wl = `${viewer.window.center.toFixed(2)},${viewer.window.width.toFixed(2)}`;
    send({ type: 'rendered', volume: viewer.volumeIndex, slices: s, frame: viewer.frame, ms });
  },
});

// ---- toolbar
const button = (icon: string, title: string, onClick: () => void, id?: string) => {
  const b = el('button', { class: 'icon', title, 'aria-label': title, ...(id ? { id } : {}) }, el('span', { class: `codicon codicon-${icon}` }));
  b.addEventListener('click', onClick);
  return b;
};
const select = (id: string, title: string, onChange: (v: string) => void) => {
  const s = el('select', { id, title, 'aria-label': title }) as HTMLSelectElement;
  s.addEventListener('change', () => onChange(s.value));
  return s;
};

const presetSelect = select('preset', 'Window / level preset', (v) => viewer.setPreset(v));
const colormapSelect = select('colormap', 'Colour map', (v) => viewer.setColormap(v as ColormapName));
for (const c of COLORMAPS) colormapSelect.append(option(c, c));
const layoutSelect = select('layout', 'Layout', (v) => {
  const [layout, plane] = v.split(':') as [Layout, Plane?];
  viewer.setLayout(layout, plane);
});
for (const l of LAYOUTS) {
  if (l === 'single') for (const p of PLANES) layoutSelect.append(option(`single:${p}`, `${p} only`));
  else layoutSelect.append(option(l, l === '1x3' ? '1 x 3' : '2 x 2'));
}
const conventionSelect = select('convention', 'Left-right convention', (v) => viewer.setRadiological(v === 'radiological'));
conventionSelect.append(option('radiological', 'Radiological (R on left)'), option('neurological', 'Neurological (R on right)'));
const frameSlider = el('input', { type: 'range', id: 'frame', min: '0', max: '0', value: '0', title: 'Frame (4D)', hidden: '' }) as HTMLInputElement;
frameSlider.addEventListener('input', () => viewer.setFrame(Number(frameSlider.value)));

const overlayBox = el('span', { class: 'overlay-controls', hidden: '' });
const overlayToggle = el('input', { type: 'checkbox', id: 'overlay-visible', checked: '', title: 'Show overlay' }) as HTMLInputElement;
const overlayOpacity = el('input', { type: 'range', id: 'overlay-opacity', min: '0', max: '1', step: '0.05', value: '0.5', title: 'Overlay opacity' }) as HTMLInputElement;
const overlayThreshold = el('input', { type: 'number', id: 'overlay-threshold', step: 'any', title: 'Overlay lower threshold' }) as HTMLInputElement;
const overlayColormap = select('overlay-colormap', 'Overlay colour map', (v) => updateOverlay({ colormap: v }));
for (const c of ['heat', 'hot', 'viridis', 'inferno', 'magma']) overlayColormap.append(option(c, c));
overlayToggle.addEventListener('change', () => updateOverlay({ visible: overlayToggle.checked }));
overlayOpacity.addEventListener('input', () => updateOverlay({ opacity: Number(overlayOpacity.value) }));
overlayThreshold.addEventListener('change', () => updateOverlay({ threshold: Number(overlayThreshold.value) }));
overlayBox.append(el('span', { class: 'overlay-name' }), overlayToggle, overlayOpacity, overlayThreshold, overlayColormap);

toolbar.append(
  button('list-tree', 'Series', () => (side.hidden = !side.hidden), 'toggle-series'),
  layoutSelect,
  presetSelect,
  colormapSelect,
  conventionSelect,
  frameSlider,
  button('layers', 'Load overlay...', () => send({ type: 'requestOverlay' }), 'load-overlay'),
  overlayBox,
  el('span', { class: 'spacer' }),
  loading,
  button('discard', 'Reset view', () => viewer.resetView(), 'reset'),
  button('list-flat', 'Header', () => toggleHeader(), 'toggle-header'),
  button('beaker', 'HLIP results', () => results.toggle(), 'toggle-results'),
  button('device-camera', 'Save screenshot', () => void saveScreenshot(viewer, send, false), 'screenshot'),
);

function updateOverlay(change: Partial<Overlay['settings']>): void {
  if (!viewer.overlay) return;
  Object.assign(viewer.overlay.settings, change);
  viewer.renderAll();
}

function toggleHeader(): void {
  headerPanel.hidden = !headerPanel.hidden;
}

// ---- keyboard: scrolling keys act on the active plane, but never while the user types in a control.
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (t.closest('input, select, textarea')) return;
  const step: Record<string, number> = { ArrowUp: 1, ArrowDown: -1, PageUp: 10, PageDown: -10 };
  if (e.key in step) {
    viewer.scroll(viewer.active, step[e.key]);
    e.preventDefault();
  }
});

// ---- messages from the host

function showError(code: string, text: string): void {
  app.dataset.state = 'error';
  message.hidden = false;
  message.replaceChildren(
    el('span', { class: 'codicon codicon-error' }),
    el('div', {}, el('strong', {}, 'This scan cannot be shown'), el('p', { class: 'error-text' }, text), el('p', { class: 'error-code' }, `Reason code: ${code}`)),
  );
  send({ type: 'errorShown', code });
}

function showStudy(name: string, list: StudyEntry[], warnings: string[]): void {
  side.replaceChildren(el('h3', {}, name));
  const ul = el('ul', { class: 'series-list', role: 'listbox' });
  list.forEach((e, i) => {
    const li = el('li', { role: 'option', 'data-index': String(i), tabindex: '0' }, el('span', { class: 'series-name' }, e.name), el('span', { class: 'series-dims' }, `${e.dims.join('x')}${e.frames > 1 ? `x${e.frames}` : ''}`));
    li.addEventListener('click', () => send({ type: 'selectVolume', index: i }));
    ul.append(li);
  });
  side.append(ul);
  if (warnings.length) side.append(el('h4', {}, 'Warnings'), el('ul', { class: 'warnings' }, ...warnings.map((w) => el('li', {}, w))));
  side.hidden = list.length < 2 && warnings.length === 0;
}

function showVolume(index: number, vol: DisplayVolume): void {
  volumeReceivedAt ??= Date.now();
  app.dataset.loaded = vol.complete ? 'true' : 'false';
  app.dataset.state = 'ready';
  app.dataset.volume = String(index);
  message.hidden = true;
  viewer.setVolume(vol, index);
  side.querySelectorAll('li[data-index]').forEach((li) => li.classList.toggle('selected', (li as HTMLElement).dataset.index === String(index)));
  presetSelect.replaceChildren(option('auto', 'Auto (percentiles)'));
  if (vol.meta.modality === 'CT') for (const p of Object.keys(CT_PRESETS)) presetSelect.append(option(p, `CT ${p}`));
  presetSelect.value = viewer.preset;
  frameSlider.hidden = vol.meta.frames < 2;
  frameSlider.max = String(vol.meta.frames - 1);
  frameSlider.value = '0';
  overlayBox.hidden = true;
  headerPanel.replaceChildren(headerTable(vol.meta));
  const warn = vol.meta.warnings.length ? `  ${vol.meta.warnings.length} warning(s): ${vol.meta.warnings.join(' ')}` : '';
  statusLine.textContent = `${vol.meta.name}: ${vol.meta.dims.join(' x ')}, ${vol.meta.spacing.map((s) => s.toFixed(3)).join(' x ')} mm, ${vol.meta.orientation}${warn}`;
}

function showOverlay(name: string, vol: DisplayVolume): void {
  if (!viewer.vol) return;
  viewer.overlay = new Overlay(vol, viewer.vol, name);
  const s = viewer.overlay.settings;
  overlayBox.hidden = false;
  overlayBox.querySelector('.overlay-name')!.textContent = name;
  overlayToggle.checked = s.visible;
  overlayOpacity.value = String(s.opacity);
  overlayThreshold.value = String(s.threshold);
  overlayColormap.value = s.colormap;
  app.dataset.overlay = name;
  viewer.renderAll();
}

function runCommand(c: ViewerCommand): void {
  switch (c) {
    case 'resetView': return viewer.resetView();
    case 'cycleLayout': {
      viewer.cycleLayout();
      layoutSelect.value = viewer.layout === 'single' ? `single:${viewer.active}` : viewer.layout;
      return;
    }
    case 'toggleHeader': return toggleHeader();
    case 'toggleOverlay':
      if (viewer.overlay) {
        overlayToggle.checked = !overlayToggle.checked;
        updateOverlay({ visible: overlayToggle.checked });
      } else send({ type: 'requestOverlay' });
      return;
    case 'screenshot': return void saveScreenshot(viewer, send, false);
    case 'screenshotAs': return void saveScreenshot(viewer, send, true);
  }
}

window.addEventListener('message', (event) => {
  const msg: HostMessage | undefined = parseHostMessage(event.data);
  if (!msg) return;
  try {
    switch (msg.type) {
      case 'progress':
        progressAt ??= Date.now();
        if (app.dataset.state !== 'ready') {
          message.hidden = false;
          message.replaceChildren(el('span', { class: 'codicon codicon-loading codicon-modifier-spin' }), el('span', {}, msg.message));
        }
        break;
      case 'study':
        if (msg.marks) marks.host = msg.marks;
        showStudy(msg.name, msg.entries, msg.warnings);
        break;
      case 'volume': {
        const bytes = msg.meta.dims[0] * msg.meta.dims[1] * msg.meta.dims[2] * msg.meta.frames * BYTES[msg.meta.dataType];
        showVolume(msg.index, new DisplayVolume(msg.meta, new ArrayBuffer(bytes), msg.preview, true));
        break;
      }
      case 'planes': {
        const vol = viewer.vol;
        if (!vol || msg.index !== viewer.volumeIndex) break;
        vol.addCenterPlanes(msg.preview, msg.range);
        headerPanel.replaceChildren(headerTable(vol.meta)); // the final range
        viewer.renderAll();
        break;
      }
      case 'chunk': {
        const vol = viewer.vol;
        if (!vol || msg.index !== viewer.volumeIndex || vol.complete) break;
        marks.firstChunk ??= Date.now();
        vol.insert(msg.offset, msg.data);
        app.dataset.loaded = vol.complete ? 'true' : 'false';
        if (vol.complete) marks.loaded ??= Date.now();
        loading.textContent = vol.complete ? '' : `loading ${Math.round((100 * vol.loaded) / vol.data.byteLength)}%`;
        viewer.renderAll();
        break;
      }
      case 'overlay':
        showOverlay(msg.name, new DisplayVolume(msg.meta, msg.data));
        break;
      case 'error':
        showError(msg.code, msg.message);
        break;
      case 'screenshotSaved':
        statusLine.textContent = `Screenshot saved: ${msg.path}`;
        break;
      case 'command':
        runCommand(msg.command);
        break;
      case 'classifyState':
        results.progress(msg.state, msg.message, msg.fraction);
        app.dataset.classify = msg.state;
        break;
      case 'results':
        results.show(msg.results);
        app.dataset.classify = 'done';
        break;
      case 'reply':
        requests.settle(msg);
        break;
      case 'savedPrompts':
        results.showSaved(msg.prompts);
        break;
    }
  } catch (e) {
    showError('VIEWER', e instanceof Error ? e.message : String(e));
    send({ type: 'log', level: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
});

// Read-only probe for UI tests and the viewer benchmark: where each plane's image lies on its canvas.
(window as unknown as { hlipProbe: object }).hlipProbe = {
  imageRect: (plane: Plane) => viewer.imageRect(plane),
  state: () => ({ window: viewer.window, point: viewer.point, frame: viewer.frame, layout: viewer.layout, colormap: viewer.colormap }),
  renders: () => renders.slice(),
  firstPaintAt: () => firstPaintAt,
  volumeReceivedAt: () => volumeReceivedAt,
  progressAt: () => progressAt,
  marks: () => ({
    ...marks, firstMessage: progressAt, volume: volumeReceivedAt, firstPaint: firstPaintAt,
    // When each of the page's files was in (epoch ms), to tell page load from bundle run.
    resources: Object.fromEntries(performance.getEntriesByType('resource').map((r) => [r.name.split('/').pop()!.split('?')[0], Math.round(performance.timeOrigin + (r as PerformanceResourceTiming).responseEnd)])),
  }),
};

app.dataset.state = 'loading';
send({ type: 'ready' });
marks.readySent = Date.now();
