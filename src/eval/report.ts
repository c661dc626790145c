/**
 * From an EvalRecord (one run, or shards merged) to the report: metrics.json (HLIP's key names, so it lines up with a
 * training run's results.jsonl; NaN written as null), bootstrap 95% intervals per figure, paired differences of every
 * later checkpoint against the first, and predictions CSVs (a `study` column, then one column per class name).
 * Nothing here depends on timing or the cache, so a merged record gives a byte-identical report.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Interval, type PairedDifference, bootstrapIntervals, DEFAULT_DRAWS, DEFAULT_SEED, pairedBootstrap } from './bootstrap';
import { EvalError } from './errors';
import { type EvalRecord, type ModelIdentity, type ModelResult, sortSkipped } from './evaluate';
import { type Prepared, type ScoreTable, prepare, setMetrics } from './metrics/set-metrics';

export interface ReportOptions {
  draws?: number;
  seed?: number;
}

type Num = number | null;
const num = (x: number): Num => (Number.isFinite(x) ? x : null);
const pair = (iv: Interval): [Num, Num] | null => (iv.defined ? [num(iv.lo), num(iv.hi)] : null);

export interface ModelReport extends ModelIdentity {
  studies: number;
  metrics: Record<string, Num>;
  /** Macro AUCs that HLIP records as NaN because of some unscorable columns: the mean over the rest, and those columns. */
  scorable: Record<string, { value: Num; unscorable: string[] }>;
  ci95: Record<string, [Num, Num] | null>;
  warnings: string[];
}

export interface PairedReport {
  a: string;
  b: string;
  studies: number;
  /** B minus A per figure, its 95% interval and two-sided bootstrap p-value. */
  differences: Record<string, { difference: Num; ci95: [Num, Num] | null; p: Num }>;
}

export interface MetricsReport {
  set: string;
  layout: string;
  classes: string[];
  studies: { csvRows: number; evaluated: number; skipped: number };
  bootstrap: { draws: number; seed: number; resampling: string; interval: string; pValue: string };
  models: ModelReport[];
  paired: PairedReport[];
  skipped: EvalRecord['skipped'];
  warnings: string[];
}

/** The labels and one checkpoint's logits over the given studies, as a score table. */
function table(record: EvalRecord, m: ModelResult, studies: string[]): ScoreTable {
  const C = record.classes.length;
  const labels = new Map(record.studies.map((s) => [s.study, s.labels]));
  const logits = new Map(m.rows.map((r) => [r.study, r.logits]));
  const t: ScoreTable = { n: studies.length, classes: record.classes, labels: new Uint8Array(studies.length * C), logits: new Float64Array(studies.length * C) };
  studies.forEach((s, i) => {
    t.labels.set(labels.get(s)!, i * C);
    t.logits.set(logits.get(s)!, i * C);
  });
  return t;
}

const studiesOf = (record: EvalRecord, m: ModelResult) => {
  const has = new Set(m.rows.map((r) => r.study));
  return record.studies.map((s) => s.study).filter((s) => has.has(s));
};

export function buildReport(record: EvalRecord, opts: ReportOptions = {}): MetricsReport {
  const draws = opts.draws ?? DEFAULT_DRAWS;
  const seed = opts.seed ?? DEFAULT_SEED;
  const warnings = [...record.warnings];
  const prepared: Prepared[] = [];
  const models = record.models.map((m): ModelReport => {
    const p = prepare(record.set, table(record, m, studiesOf(record, m)));
    prepared.push(p);
    const fig = setMetrics(record.set, p);
    const ci = bootstrapIntervals(record.set, p, { draws, seed });
    const scorable: ModelReport['scorable'] = {};
    for (const [k, s] of Object.entries(fig.scorable)) {
      if (!s.unscorable.length || !Number.isFinite(s.value)) continue;
      scorable[k] = { value: num(s.value), unscorable: s.unscorable };
      warnings.push(`${m.label}: "${k}" is NaN, as HLIP records it: ${s.unscorable.length} column(s) have one label value in these studies (${s.unscorable.join(', ')}); over the other columns it is ${s.value.toFixed(4)} ("scorable").`);
    }
    return {
      label: m.label, path: m.path, sha256: m.sha256, visualHash: m.visualHash, textHash: m.textHash, untrained: m.untrained,
      studies: p.table.n,
      metrics: Object.fromEntries(Object.entries(fig.values).map(([k, v]) => [k, num(v)])),
      scorable,
      ci95: Object.fromEntries(Object.entries(ci).map(([k, iv]) => [k, pair(iv)])),
      warnings: m.warnings,
    };
  });
  const paired: PairedReport[] = [];
  for (let k = 1; k < record.models.length; k++) {
    const a = record.models[0], b = record.models[k];
    const inB = new Set(b.rows.map((r) => r.study));
    const common = studiesOf(record, a).filter((s) => inB.has(s));
    const d: Record<string, PairedDifference> = common.length
      ? pairedBootstrap(record.set, prepare(record.set, table(record, a, common)), prepare(record.set, table(record, b, common)), { draws, seed })
      : {};
    paired.push({
      a: a.label, b: b.label, studies: common.length,
      differences: Object.fromEntries(Object.entries(d).map(([key, x]) => [key, { difference: num(x.difference), ci95: pair(x), p: num(x.p) }])),
    });
  }
  const evaluated = new Set(record.models.flatMap((m) => m.rows.map((r) => r.study))).size;
  if (record.skipped.length) warnings.push(`${record.skipped.length} skipped (listed under "skipped"); ${evaluated} studies evaluated.`);
  return {
    set: record.set, layout: record.layout, classes: record.classes,
    studies: { csvRows: record.csvRows, evaluated, skipped: record.skipped.length },
    bootstrap: {
      draws, seed,
      resampling: 'studies with replacement, n of n, per-study counts from a seeded sfc32 generator; the same draws for every checkpoint',
      interval: 'percentile 2.5 / 97.5 (numpy linear) over the draws where the figure is defined',
      pValue: 'two-sided: min(1, 2 (1 + min(#draws <= 0, #draws >= 0)) / (defined draws + 1)) for B - A',
    },
    models, paired, skipped: record.skipped, warnings,
  };
}

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function predictionsCsv(record: EvalRecord, m: ModelResult): string {
  const order = new Map(record.studies.map((s, i) => [s.study, i]));
  const rows = [...m.rows].sort((a, b) => order.get(a.study)! - order.get(b.study)!);
  const lines = [['study', ...record.classes].map(csvCell).join(',')];
  for (const r of rows) lines.push([csvCell(r.study), ...r.logits.map((x) => String(x))].join(','));
  return `${lines.join('\n')}\n`;
}

export interface ScoredStudy {
  study: string;
  logit: number;
}

/** Per checkpoint and class: the k highest-scored negatives and the k lowest-scored positives (error analysis). */
export type ErrorAnalysis = Record<string, Record<string, { highestNegatives: ScoredStudy[]; lowestPositives: ScoredStudy[] }>>;

export function errorAnalysis(record: EvalRecord, k = 10): ErrorAnalysis {
  const labels = new Map(record.studies.map((s) => [s.study, s.labels]));
  const out: ErrorAnalysis = {};
  for (const m of record.models) {
    const per: ErrorAnalysis[string] = {};
    record.classes.forEach((name, c) => {
      const scored = m.rows.map((r) => ({ study: r.study, logit: r.logits[c], positive: labels.get(r.study)![c] === 1 }));
      // Ties broken by study name, so the lists do not depend on the order rows arrived in.
      const by = (sign: number) => (a: { study: string; logit: number }, b: { study: string; logit: number }) => sign * (a.logit - b.logit) || (a.study < b.study ? -1 : 1);
      const pick = (xs: typeof scored) => xs.slice(0, k).map(({ study, logit }) => ({ study, logit }));
      per[name] = {
        highestNegatives: pick(scored.filter((x) => !x.positive).sort(by(-1))),
        lowestPositives: pick(scored.filter((x) => x.positive).sort(by(1))),
      };
    });
    out[m.label] = per;
  }
  return out;
}

/**
 * Output files of a whole evaluation: record.json, metrics.json, errors.json (error analysis), predictions.csv (one
 * model) or predictions-<label>.csv.
 */
export function writeReport(record: EvalRecord, outDir: string, opts: ReportOptions = {}): { metrics: string; predictions: string[]; report: MetricsReport } {
  mkdirSync(outDir, { recursive: true });
  writeRecord(record, outDir);
  const report = buildReport(record, opts);
  const metrics = join(outDir, 'metrics.json');
  writeFileSync(metrics, `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(join(outDir, 'errors.json'), `${JSON.stringify(errorAnalysis(record))}\n`);
  const predictions = record.models.map((m) => {
    const f = join(outDir, record.models.length === 1 ? 'predictions.csv' : `predictions-${m.label.replace(/[^\w.-]+/g, '_')}.csv`);
    writeFileSync(f, predictionsCsv(record, m));
    return f;
  });
  return { metrics, predictions, report };
}

export function writeRecord(record: EvalRecord, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const f = join(outDir, 'record.json');
  writeFileSync(f, `${JSON.stringify(record)}\n`);
  return f;
}

export function readRecord(dir: string): EvalRecord {
  const f = join(dir, 'record.json');
  let r: EvalRecord;
  try {
    r = JSON.parse(readFileSync(f, 'utf8')) as EvalRecord;
  } catch (e) {
    throw new EvalError('MERGE_MISMATCH', `${f} is missing or not an evaluation record (${(e as NodeJS.ErrnoException).code ?? 'invalid JSON'}).`);
  }
  if (r.format !== 'hlip-eval' || r.version !== 1) throw new EvalError('MERGE_MISMATCH', `${f} is not an hlip eval record of version 1.`);
  return r;
}

/** Shard records -> the record of one unsharded run (every shard of one split exactly once, same set and checkpoints). */
export function mergeRecords(records: EvalRecord[]): EvalRecord {
  if (!records.length) throw new EvalError('MERGE_MISMATCH', 'Nothing to merge.');
  const first = records[0];
  const same = (r: EvalRecord) =>
    r.set === first.set && r.layout === first.layout && r.csvRows === first.csvRows && r.shard.count === first.shard.count &&
    JSON.stringify(r.classes) === JSON.stringify(first.classes) && JSON.stringify(r.models.map((m) => m.sha256)) === JSON.stringify(first.models.map((m) => m.sha256));
  const odd = records.find((r) => !same(r));
  if (odd) throw new EvalError('MERGE_MISMATCH', `Shard ${odd.shard.index}/${odd.shard.count} is from another evaluation (set, labels, checkpoints or shard count differ).`);
  const count = first.shard.count;
  const seen = records.map((r) => r.shard.index).sort((a, b) => a - b);
  const want = Array.from({ length: count }, (_, i) => i);
  if (JSON.stringify(seen) !== JSON.stringify(want)) {
    const missing = want.filter((i) => !seen.includes(i));
    const dup = seen.filter((i, k) => seen.indexOf(i) !== k);
    throw new EvalError('MERGE_MISMATCH', `A split into ${count} shards needs each of 0..${count - 1} once${missing.length ? `; missing: ${missing.join(', ')}` : ''}${dup.length ? `; given twice: ${[...new Set(dup)].join(', ')}` : ''}.`);
  }
  const studies = records.flatMap((r) => r.studies).sort((a, b) => a.index - b.index || a.sub - b.sub);
  const order = new Map(studies.map((s, i) => [s.study, i]));
  const skipped = records.flatMap((r) => r.skipped);
  sortSkipped(skipped);
  const warnings = [...new Set(records.flatMap((r) => r.warnings))];
  const models = first.models.map((m, k) => ({
    ...m,
    rows: records.flatMap((r) => r.models[k].rows).sort((a, b) => order.get(a.study)! - order.get(b.study)!),
  }));
  return { ...first, shard: { index: 0, count: 1 }, studies, skipped, models, warnings };
}
