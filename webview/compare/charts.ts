/**
 * One chart per metric (uPlot: canvas, no eval, no injected styles, so it runs under the webview's strict CSP), one
 * line per run, values under the cursor in the legend, log / linear y, export as PNG, SVG or CSV.
 */
import uPlot from 'uplot';
import type { Chart, CompareData } from '../../src/runs/compare-data';
import { formatTick, linearTicks, logTicks } from './axis';
import { type ChartTheme, runColor } from './theme';

export interface DrawnChart {
  chart: Chart;
  plot: uPlot;
  /** Aligned [x, ...one y column per run] as drawn (nulls where a run has no value at that x). */
  data: (number | null)[][];
  log: boolean;
  /** Runs (indices into CompareData.runs) in series order. */
  runs: number[];
  setLog(on: boolean): void;
  destroy(): void;
}

/** Aligns each series on the union of x values (uPlot draws one x column shared by all series). */
export function align(chart: Chart, runIndex: Map<string, number>): { data: (number | null)[][]; runs: number[] } {
  const xs = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = chart.series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) col[at.get(x)!] = Number.isFinite(y) ? y : null;
    return col;
  });
  return { data: [xs, ...cols], runs: chart.series.map((s) => runIndex.get(s.runId) ?? 0) };
}

const positive = (col: (number | null)[]) => col.map((v) => (v !== null && v > 0 ? v : null));

export function drawChart(host: HTMLElement, chart: Chart, all: CompareData, theme: ChartTheme, width: number, log = false): DrawnChart {
  const runIndex = new Map(all.runs.map((r, i) => [r.id, i]));
  const { data, runs } = align(chart, runIndex);
  const axis = { stroke: theme.foreground, font: theme.font, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
  const opts = (isLog: boolean): uPlot.Options => ({
    width,
    height: 220,
    scales: { x: { time: false }, y: { distr: isLog ? 3 : 1 } },
    axes: [{ ...axis, label: chart.xLabel, labelFont: theme.font }, { ...axis, size: 60, values: (_u, splits) => splits.map((v) => (v == null ? '' : formatTick(v))) }],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: chart.xLabel, value: (_u, v) => (v == null ? '-' : formatTick(v)) },
      ...chart.series.map((s, i) => ({
        label: all.runs[runs[i]]?.name ?? s.runId,
        stroke: runColor(theme, runs[i]),
        width: 1.5,
        dash: s.source === 'evaluated' ? [6, 3] : undefined,
        points: { show: data[0].length <= 60 },
        spanGaps: true,
        value: (_u: uPlot, v: number | null) => (v == null ? '-' : formatTick(v)),
      })),
    ],
  });
  const shown = (isLog: boolean) => [data[0], ...data.slice(1).map((c) => (isLog ? positive(c) : c))] as uPlot.AlignedData;
  let plot = new uPlot(opts(log), shown(log), host);
  const drawn: DrawnChart = {
    chart, plot, data, log, runs,
    setLog(on) {
      plot.destroy();
      plot = new uPlot(opts(on), shown(on), host);
      drawn.plot = plot;
      drawn.log = on;
    },
    destroy: () => plot.destroy(),
  };
  return drawn;
}

/** The chart as a PNG data URL: the plot canvas (axes included) on the theme's background, title and run names above. */
export function chartPng(d: DrawnChart, theme: ChartTheme, colors: string[], names: string[]): string {
  const src = d.plot.ctx.canvas;
  const ratio = src.width / Math.max(1, d.plot.width);
  const pad = Math.round(26 * ratio);
  const c = document.createElement('canvas');
  c.width = src.width;
  c.height = src.height + pad;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.scale(ratio, ratio);
  ctx.font = theme.font;
  ctx.fillStyle = theme.foreground;
  ctx.fillText(d.chart.title, 8, 17);
  let x = 16 + ctx.measureText(d.chart.title).width;
  names.forEach((n, i) => {
    ctx.fillStyle = colors[i];
    ctx.fillText(n, x, 17);
    x += ctx.measureText(n).width + 14;
  });
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(src, 0, pad);
  return c.toDataURL('image/png');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The chart as standalone SVG, drawn from the same data and scales (uPlot itself draws on canvas only). */
export function chartSvg(d: DrawnChart, theme: ChartTheme, colors: string[], names: string[]): string {
  const W = 720;
  const H = 320;
  const m = { l: 64, r: 16, t: 40, b: 40 };
  const xs = d.data[0] as number[];
  const ys = d.data.slice(1).flatMap((c) => c.filter((v): v is number => v !== null && (!d.log || v > 0)));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (yMin === yMax) (yMin -= d.log ? yMin / 2 : 1), (yMax += d.log ? yMax : 1);
  const fx = (x: number) => m.l + ((x - xMin) / (xMax - xMin || 1)) * (W - m.l - m.r);
  const fy = d.log
    ? (y: number) => H - m.b - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - m.t - m.b)
    : (y: number) => H - m.b - ((y - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="${esc(theme.background)}"/>`);
  parts.push(`<text x="${m.l}" y="20" fill="${esc(theme.foreground)}" font-size="13">${esc(d.chart.title)}</text>`);
  for (const t of d.log ? logTicks(yMin, yMax) : linearTicks(yMin, yMax)) {
    const y = fy(t).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="${esc(theme.grid)}"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${esc(theme.foreground)}" font-size="11">${formatTick(t)}</text>`);
  }
  for (const t of linearTicks(xMin, xMax)) {
    const x = fx(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}" stroke="${esc(theme.grid)}"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle" fill="${esc(theme.foreground)}" font-size="11">${formatTick(t)}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" fill="${esc(theme.foreground)}" font-size="11">${esc(d.chart.xLabel)}</text>`);
  d.data.slice(1).forEach((col, i) => {
    const pts = col.map((y, k) => (y === null || (d.log && y <= 0) ? undefined : `${fx(xs[k]).toFixed(1)},${fy(y).toFixed(1)}`)).filter(Boolean);
    const color = esc(colors[i]);
    const dash = d.chart.series[i].source === 'evaluated' ? ' stroke-dasharray="6 3"' : '';
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${pts.join(' ')}"><title>${esc(names[i])}</title></polyline>`);
    parts.push(`<text x="${W - m.r - 4}" y="${m.t + 14 * i}" text-anchor="end" fill="${color}" font-size="11">${esc(names[i])}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}
