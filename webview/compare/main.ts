/**
 * The Compare Runs page: runs and their problems, the settings that differ (the ablation), one chart per logged metric
 * (every results.jsonl key over epochs; loss and learning rate from out.log over steps), and checkpoints compared on a
 * study. Data comes from the host (src/protocol-compare.ts); the page only draws and asks.
 */
import type { CheckpointComparison } from '../../src/runs/checkpoint-compare';
import type { CompareData } from '../../src/runs/compare-data';
import { type CheckpointProgress, type CompareReplies, type CompareRequest, type CompareWebviewMessage, parseCompareHostMessage } from '../../src/protocol-compare';
import { PendingRequests } from '../../src/shared/request-pairing';
import { el } from '../ui';
import { chartPng, chartSvg, drawChart, type DrawnChart } from './charts';
import { checkpointTable } from './checkpoint-table';
import { evaluationSection, type EvaluationState } from './evaluation';
import { chartTheme, runColor } from './theme';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
const vscode = acquireVsCodeApi();
const send = (m: CompareWebviewMessage) => vscode.postMessage(m);
const requests = new PendingRequests<CompareRequest, CompareReplies>((id, request) => send({ type: 'request', id, request }));

const app = document.getElementById('app')!;
const status = el('div', { class: 'status', role: 'status' });
const runsSection = el('section', { class: 'runs', hidden: '' });
const ckptSection = el('div', { class: 'ckpt-host' });
const evalSection = el('div', { class: 'eval-host' });
app.replaceChildren(status, evalSection, ckptSection, runsSection);
const evalState: EvaluationState = { b: 1, sort: 'figure', errCheckpoint: 0 };

let drawn: DrawnChart[] = [];
/** Charts on a log axis: kept when the runs' data is redrawn (a run still training sends new points). */
const logCharts = new Set<string>();
let current: CompareData | undefined;
const tableState: { set?: string; filter: string } = { filter: '' };

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function ask(r: CompareRequest): void {
  requests.request(r).then(
    (v) => typeof v === 'string' && say(`Saved ${v}`),
    (e: Error) => say(e.message, true),
  );
}

function runsHeader(d: CompareData): HTMLElement {
  const theme = chartTheme();
  const list = el('ul', { class: 'run-list' });
  d.runs.forEach((r, i) => {
    const sw = el('span', { class: 'swatch' });
    sw.style.background = runColor(theme, i);
    const li = el('li', {}, sw, el('strong', {}, r.name), ` ${[r.modality?.toUpperCase(), r.model, `${r.epochs} epoch${r.epochs === 1 ? '' : 's'}`].filter(Boolean).join(' \u00b7 ')}`);
    for (const p of r.problems) li.append(el('div', { class: 'problem', title: p.file ?? '' }, p.message));
    list.append(li);
  });
  const out = el('div', {}, el('h2', {}, 'Runs'), list);
  for (const p of d.diff.problems) out.append(el('div', { class: 'warn banner', role: 'alert' }, p.message));
  return out;
}

function diffTable(d: CompareData): HTMLElement {
  const rows = [...d.diff.weights, ...d.diff.differing.filter((x) => !x.identity)];
  const head = el('tr', {}, el('th', {}, 'Setting'), ...d.runs.map((r) => el('th', {}, r.name)));
  const body = el('tbody');
  for (const r of rows) {
    body.append(el('tr', { title: r.label }, el('td', { class: 'name' }, r.key), ...r.values.map((v) => el('td', {}, v ?? '(unset)'))));
  }
  const identity = d.diff.differing.filter((x) => x.identity).map((x) => x.key);
  return el(
    'div', { class: 'diff' },
    el('h2', {}, 'Settings that differ'),
    rows.length ? el('table', { class: 'diff-table' }, el('thead', {}, head), body) : el('p', {}, 'The runs share every setting besides their names and paths.'),
    el('p', { class: 'note' }, `${d.diff.same.length} settings are the same in every run${identity.length ? `; ${identity.join(', ')} differ${identity.length === 1 ? 's' : ''} as ${identity.length === 1 ? 'it names' : 'they name'} the runs` : ''}.`),
  );
}

function chartCard(grid: HTMLElement, chart: CompareData['charts'][number], d: CompareData): DrawnChart {
  const theme = chartTheme();
  const card = el('div', { class: 'chart', 'data-chart': chart.id });
  const plotHost = el('div', { class: 'plot' });
  const logBtn = el('button', { class: 'text', 'aria-pressed': String(logCharts.has(chart.id)), title: 'Logarithmic y axis' }, 'log y');
  const tools = el('div', { class: 'chart-tools' }, el('span', { class: 'chart-title' }, chart.title), el('span', { class: 'spacer' }), logBtn);
  card.append(tools, plotHost);
  grid.append(card);
  const dc = drawChart(plotHost, chart, d, theme, Math.max(280, card.clientWidth - 16), logCharts.has(chart.id));
  const colors = dc.runs.map((r) => runColor(theme, r));
  const names = dc.runs.map((r) => d.runs[r]?.name ?? '');
  logBtn.addEventListener('click', () => {
    dc.setLog(!dc.log);
    if (dc.log) logCharts.add(chart.id);
    else logCharts.delete(chart.id);
    logBtn.setAttribute('aria-pressed', String(dc.log));
  });
  for (const format of ['png', 'svg', 'csv'] as const) {
    const b = el('button', { class: 'text', title: `Save this chart as ${format.toUpperCase()}` }, format.toUpperCase());
    b.addEventListener('click', () => {
      const content = format === 'png' ? chartPng(dc, chartTheme(), colors, names) : format === 'svg' ? chartSvg(dc, chartTheme(), colors, names) : undefined;
      ask({ kind: 'exportChart', chartId: chart.id, format, content });
    });
    tools.append(b);
  }
  return dc;
}

function showRuns(d: CompareData): void {
  const t0 = performance.now();
  current = d;
  for (const c of drawn) c.destroy();
  drawn = [];
  const grid = el('div', { class: 'charts' });
  runsSection.replaceChildren(runsHeader(d), diffTable(d), el('h2', {}, 'Metrics'), grid);
  runsSection.hidden = false;
  if (!d.charts.length) grid.append(el('p', {}, 'No logged metrics yet (no results.jsonl lines, no training steps in out.log).'));
  // Evaluated metrics (results.jsonl) first, then training curves.
  for (const chart of d.charts) drawn.push(chartCard(grid, chart, d));
  say(`${d.runs.length} runs, ${d.charts.length} charts`);
  requestAnimationFrame(() => requestAnimationFrame(() => send({ type: 'drawn', charts: drawn.length, ms: performance.now() - t0 })));
}

function showCheckpoints(c: CheckpointComparison, p: CheckpointProgress): void {
  const done = p.states.filter((x) => x.state === 'done').length;
  say(p.running ? `Comparing ${p.states.length} checkpoints on ${p.study}...` : `${done} of ${p.states.length} checkpoints compared on ${p.study}`);
  ckptSection.replaceChildren(
    checkpointTable(c, p, {
      showMap: (checkpoint, map) => ask({ kind: 'showMap', checkpoint, map }),
      cancel: () => send({ type: 'cancel' }),
      exportCsv: () => ask({ kind: 'exportComparison' }),
    }, tableState),
  );
}

window.addEventListener('message', (ev: MessageEvent) => {
  const m = parseCompareHostMessage(ev.data);
  if (!m) return;
  switch (m.type) {
    case 'reply':
      requests.settle(m);
      break;
    case 'runs':
      showRuns(m.data);
      break;
    case 'checkpoints':
      showCheckpoints(m.comparison, m.progress);
      break;
    case 'mapShown':
      say(`Showing ${m.label} in the viewer`);
      break;
    case 'evaluation':
      evalSection.replaceChildren(
        evaluationSection(m.progress, m.view, {
          cancel: () => send({ type: 'cancel' }),
          openStudy: (checkpoint, study, diagnosis) => ask({ kind: 'openEvaluatedStudy', checkpoint, study, diagnosis }),
        }, evalState),
      );
      break;
  }
});

// Charts follow the panel's width.
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => current && showRuns(current), 150);
});

say('Loading...');
send({ type: 'ready' });
