/**
 * The compare panel's data: runs, their settings diff, and one chart per metric with one series per run. A series
 * has a source: "logged" (results.jsonl, per epoch), "train" (out.log, per step: loss and learning rate), and room for
 * others ("evaluated": metrics computed here by the evaluation feature) without changing the shape.
 */
import { diffRuns, type RunsDiff } from './diff';
import type { OutLog } from './out-log';
import type { Run } from './run';
import type { RunProblem } from './types';
import type { WeightsInfo } from './weights';

export type SeriesSource = 'logged' | 'train' | 'evaluated';

export interface ChartSeries {
  /** Run folder (Run.dir) the series belongs to. */
  runId: string;
  source: SeriesSource;
  /** [x, y] in x order; y may be NaN (a metric the trainer could not compute). */
  points: [number, number][];
}

export interface Chart {
  id: string;
  title: string;
  /** What x is: completed epochs (results.jsonl), or optimizer steps / samples (out.log). */
  xLabel: 'epoch' | 'step' | 'samples';
  series: ChartSeries[];
}

export interface CompareRun {
  id: string;
  name: string;
  modality?: string;
  model?: string;
  epochs: number;
  lastEpoch?: number;
  /** What could not be read in this run (bad lines, half-written epochs ...), shown beside it. */
  problems: RunProblem[];
}

export interface CompareData {
  runs: CompareRun[];
  diff: RunsDiff;
  charts: Chart[];
}

export interface CompareInput {
  run: Run;
  log?: OutLog;
  weights?: WeightsInfo;
}

/**
 * At most `max` points of a long series for drawing: per bucket its lowest and highest y (spikes stay visible), in x
 * order, first and last kept. Exports use the full series.
 */
export function decimate(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max || max < 4) return points;
  const buckets = Math.floor(max / 2);
  const size = points.length / buckets;
  const out: [number, number][] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    let lo = from;
    let hi = from;
    for (let i = from; i < to; i++) {
      if (!(points[i][1] >= points[lo][1])) lo = i;
      if (!(points[i][1] <= points[hi][1])) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else out.push(points[Math.min(lo, hi)], points[Math.max(lo, hi)]);
  }
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

export interface CompareOptions {
  /** Points per training series to keep for drawing (out.log has one per logged step); default all. */
  maxTrainPoints?: number;
}

/** Charts of every results.jsonl key, then each loss and the learning rate over steps. */
export function buildCompareData(inputs: CompareInput[], opts: CompareOptions = {}): CompareData {
  const cap = (p: [number, number][]) => (opts.maxTrainPoints ? decimate(p, opts.maxTrainPoints) : p);
  const charts = new Map<string, Chart>();
  const chart = (id: string, title: string, xLabel: Chart['xLabel']): Chart => {
    let c = charts.get(id);
    if (!c) charts.set(id, (c = { id, title, xLabel, series: [] }));
    return c;
  };
  for (const { run } of inputs) {
    for (const key of run.metricKeys) {
      const points = run.results.filter((r) => key in r.metrics).map((r): [number, number] => [r.epoch, r.metrics[key]]);
      points.sort((a, b) => a[0] - b[0]);
      chart(`logged:${key}`, key, 'epoch').series.push({ runId: run.dir, source: 'logged', points });
    }
  }
  for (const { run, log } of inputs) {
    if (!log?.train.length) continue;
    const withStep = log.train.every((p) => p.step !== undefined);
    const x = (p: (typeof log.train)[number]) => (withStep ? p.step! : p.samples);
    const xLabel = withStep ? 'step' : 'samples';
    const lossNames = [...new Set(log.train.flatMap((p) => Object.keys(p.losses)))];
    for (const name of lossNames) {
      const points = log.train.filter((p) => name in p.losses).map((p): [number, number] => [x(p), p.losses[name]]);
      chart(`train:${name}`, name.replace(/_/g, ' '), xLabel).series.push({ runId: run.dir, source: 'train', points: cap(points) });
    }
    const lr = log.train.filter((p) => p.lr !== undefined).map((p): [number, number] => [x(p), p.lr!]);
    if (lr.length) chart('train:lr', 'learning rate', xLabel).series.push({ runId: run.dir, source: 'train', points: cap(lr) });
  }
  const runs = inputs.map(({ run }) => {
    const numbered = run.epochs.filter((e) => e.kind === 'epoch');
    return { id: run.dir, name: run.name, modality: run.modality, model: run.model, epochs: numbered.length, lastEpoch: numbered.at(-1)?.epoch, problems: run.problems };
  });
  return { runs, diff: diffRuns(inputs.map((i) => i.run), inputs.map((i) => i.weights)), charts: [...charts.values()] };
}

/** Every chart as long CSV: chart, run, source, x, y (for the panel's export and the CLI). */
export function chartsToCsv(data: CompareData, only?: string[]): string {
  const name = new Map(data.runs.map((r) => [r.id, r.name]));
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['chart,x_label,run,source,x,y'];
  for (const c of data.charts) {
    if (only && !only.includes(c.id)) continue;
    for (const s of c.series) for (const [x, y] of s.points) lines.push([q(c.title), c.xLabel, q(name.get(s.runId) ?? s.runId), s.source, x, y].join(','));
  }
  return `${lines.join('\n')}\n`;
}
