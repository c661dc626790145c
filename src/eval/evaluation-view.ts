/**
 * What the editor shows of an evaluation (no vscode import): the figures per checkpoint with intervals, per figure the
 * paired difference of each later checkpoint against the first (the page sorts by it), the error-analysis lists, and
 * "evaluated" series that join a run's logged ones in the compare charts (metric vs epoch).
 */
import type { Chart, CompareData } from '../runs/compare-data';
import type { ErrorAnalysis, MetricsReport, ScoredStudy } from './report';

type Num = number | null;

export interface FigureRow {
  key: string;
  /** Per checkpoint: value and 95% interval. */
  values: { v: Num; ci: [Num, Num] | null }[];
  /** Per later checkpoint k (index k - 1): checkpoint k minus the first, interval and p-value. */
  differences: ({ d: Num; ci: [Num, Num] | null; p: Num } | null)[];
}

export interface EvaluationView {
  set: string;
  layout: string;
  /** Where the studies are (raw layout: study folders the viewer can open). */
  dataRoot: string;
  studies: number;
  skipped: number;
  checkpoints: { label: string; path: string; untrained: boolean }[];
  rows: FigureRow[];
  errors: { checkpoint: number; diagnosis: string; highestNegatives: ScoredStudy[]; lowestPositives: ScoredStudy[] }[];
  warnings: string[];
}

export function evaluationView(report: MetricsReport, errors: ErrorAnalysis, dataRoot: string): EvaluationView {
  const keys = Object.keys(report.models[0]?.metrics ?? {});
  const rows = keys.map((key): FigureRow => ({
    key,
    values: report.models.map((m) => ({ v: m.metrics[key] ?? null, ci: m.ci95[key] ?? null })),
    differences: report.paired.map((p) => {
      const x = p.differences[key];
      return x ? { d: x.difference, ci: x.ci95, p: x.p } : null;
    }),
  }));
  return {
    set: report.set, layout: report.layout, dataRoot, studies: report.studies.evaluated, skipped: report.studies.skipped,
    checkpoints: report.models.map((m) => ({ label: m.label, path: m.path, untrained: m.untrained })),
    rows,
    errors: report.models.flatMap((m, checkpoint) => Object.entries(errors[m.label] ?? {}).map(([diagnosis, e]) => ({ checkpoint, diagnosis, ...e }))),
    warnings: report.warnings,
  };
}

/** The figures a chart of their own is worth when the trainer did not log them: a set's macro AUC and the task figures. */
const HEADLINE = /^(auc|balanced_acc|weighted_f1) \((mri|ct|rsna|ctrate|pubbrain5_(anomaly|tumor|disease))\)$/;

/** A checkpoint file of a training run: <run>/checkpoints/epoch_<N>.pt -> run folder and epoch. */
export function runEpochOf(path: string): { runDir: string; epoch: number } | undefined {
  const m = /^(.*)[\\/]checkpoints[\\/]epoch_(\d+)\.pt$/.exec(path);
  return m ? { runDir: m[1], epoch: Number(m[2]) } : undefined;
}

/**
 * Adds the evaluation's figures as "evaluated" series (x = epoch) of the runs its checkpoints belong to: into the chart
 * of the same logged key when the trainer logged it (evaluated next to logged), else (headline figures only) into a
 * chart of its own.
 */
export function withEvaluated(data: CompareData, report: MetricsReport): CompareData {
  const charts = data.charts.map((c) => ({ ...c, series: c.series.filter((s) => s.source !== 'evaluated') }));
  const byId = new Map(charts.map((c) => [c.id, c]));
  const runIds = new Set(data.runs.map((r) => r.id));
  const points = new Map<string, Map<string, [number, number][]>>(); // key -> run -> points
  for (const m of report.models) {
    const at = runEpochOf(m.path);
    if (!at || !runIds.has(at.runDir)) continue;
    for (const [key, v] of Object.entries(m.metrics)) {
      const perRun = points.get(key) ?? points.set(key, new Map()).get(key)!;
      const list = perRun.get(at.runDir) ?? perRun.set(at.runDir, []).get(at.runDir)!;
      list.push([at.epoch, v ?? NaN]);
    }
  }
  const added: Chart[] = [];
  for (const [key, perRun] of points) {
    let chart = byId.get(`logged:${key}`);
    if (!chart && !HEADLINE.test(key)) continue; // per-diagnosis figures: in the table, not one chart each
    if (!chart) {
      chart = { id: `evaluated:${key}`, title: `${key} (evaluated)`, xLabel: 'epoch', series: [] };
      byId.set(chart.id, chart);
      added.push(chart);
    }
    for (const [runId, pts] of perRun) chart.series.push({ runId, source: 'evaluated', points: pts.sort((a, b) => a[0] - b[0]) });
  }
  // Evaluated-only charts after the logged ones, before the training curves.
  const firstTrain = charts.findIndex((c) => c.id.startsWith('train:'));
  const at = firstTrain < 0 ? charts.length : firstTrain;
  return { ...data, charts: [...charts.slice(0, at), ...added, ...charts.slice(at)] };
}
