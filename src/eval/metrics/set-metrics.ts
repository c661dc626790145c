/**
 * The figures HLIP's zero-shot scripts (hlip-ablation src/hlip_test/zeroshot_{mri,ct,rsna,pubbrain5}.py) report, under
 * their key names, computed from the same logits and labels. Every function takes optional per-study counts so that a
 * bootstrap resample is scored exactly as the duplicated studies would be.
 *
 * - mri / ct: "auc (mri)" / "auc (ct)" = roc_auc_score(gt, logits, average="macro"); NaN when any diagnosis has one
 *   label value in the data. Added here: "auc (<diagnosis>)" per diagnosis (RSNA's key form).
 * - rsna: "auc (<name>)" per class (NaN with one label value) and "auc (rsna)" macro. Its script names the classes
 *   "Intracranial hemorrhage", "Intraparenchymal hemorrhage", ...: those are the keys.
 * - pubbrain5 (logits = logit_scale * cosine): the anomaly task (normal vs each disease, softmax over the pair, >= 0.5),
 *   the tumour task (3-way among glioma / meningioma / metastasis) and the 5-way disease task: AUC, weighted F1 and
 *   balanced accuracy, overall and per class, keys as the script's.
 * - ctrate (not among HLIP's scripts): per class AUC of P(positive) and "auc (ctrate)" macro, like mri.
 * Beside each macro AUC, `scorable` holds the mean over the columns that can be scored (HLIP's is NaN if any cannot).
 */
import { balancedAccuracy, weightedF1 } from './classification';
import { binaryAuc, columnOrders, macroAuc } from './roc-auc';

export type EvalSetId = 'mri' | 'ct' | 'rsna' | 'pubbrain5' | 'ctrate';
export const EVAL_SETS: readonly EvalSetId[] = ['mri', 'ct', 'rsna', 'pubbrain5', 'ctrate'];

/** Labels and logits of n studies over C classes, row-major. */
export interface ScoreTable {
  n: number;
  classes: string[];
  labels: Uint8Array;
  logits: Float64Array;
}

export interface ScorableMacro {
  /** The HLIP key this stands beside ("auc (mri)"). */
  key: string;
  value: number;
  /** Class names (or sub-task names) that could not be scored. */
  unscorable: string[];
}

export interface SetMetrics {
  /** HLIP's keys and values (NaN where HLIP records NaN). */
  values: Record<string, number>;
  /** Per macro-AUC key: the mean over the columns that can be scored, and the ones that cannot. */
  scorable: Record<string, ScorableMacro>;
}

/** HLIP's RSNA script names its per-class keys with these, in the CSV's column order. */
export const RSNA_KEY_NAMES = ['Intracranial hemorrhage', 'Intraparenchymal hemorrhage', 'Intraventricular hemorrhage', 'Subarachnoid hemorrhage', 'Subdural hemorrhage'];

/** Work shared by every resample of one table (sorting each column once). */
export interface Prepared {
  table: ScoreTable;
  orders?: Int32Array[];
  /** Pub-Brain-5: derived tasks. */
  pub?: PubBrainTasks;
}

export function prepare(set: EvalSetId, table: ScoreTable): Prepared {
  if (set === 'pubbrain5') return { table, pub: pubBrainTasks(table) };
  return { table, orders: columnOrders(table.logits, table.n, table.classes.length) };
}

export function setMetrics(set: EvalSetId, p: Prepared, weights?: ArrayLike<number>): SetMetrics {
  if (set === 'pubbrain5') return pubBrainMetrics(p.pub!, weights);
  const { table } = p;
  const C = table.classes.length;
  const m = macroAuc(table.labels, table.logits, table.n, C, weights, p.orders);
  const names = set === 'rsna' && C === RSNA_KEY_NAMES.length ? RSNA_KEY_NAMES : table.classes;
  const values: Record<string, number> = {};
  names.forEach((name, c) => (values[`auc (${name})`] = m.perColumn[c]));
  const key = `auc (${set})`;
  values[key] = m.macro;
  return { values, scorable: { [key]: { key, value: m.macroScorable, unscorable: m.unscorable.map((c) => table.classes[c]) } } };
}

// ---------------------------------------------------------------- Pub-Brain-5

const softmaxRow = (x: number[]): number[] => {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const argmax = (x: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[k]) k = i; // first of equal maxima, as numpy / torch
  return k;
};

interface Subset {
  /** Row of the table each entry comes from (for the resample counts). */
  rows: Int32Array;
  yTrue: Int32Array;
  /** Scores of the positive class (binary) or per class (multi) row-major. */
  score: Float64Array;
  classes: number;
  yPred: Int32Array;
  /** Label columns for the multi-class AUC (the disease task uses the CSV's columns as given, like the script). */
  truth?: Uint8Array;
}

interface PubBrainTasks {
  anomaly: { name: string; s: Subset }[];
  tumour: Subset;
  disease: Subset;
}

const ANOMALY = [['stroke', 1], ['glioma', 2], ['meningioma', 3], ['metastasis', 4]] as const;
const TUMOUR_COLS = [2, 3, 4];
const TUMOUR_NAMES = ['glioma', 'meningioma', 'metastasis'];
const DISEASE_NAMES = ['normal', 'stroke', 'glioma', 'meningioma', 'metastasis'];

function subset(rows: number[], yTrue: number[], scores: number[][], classes: number): Subset {
  const s = new Float64Array(rows.length * classes);
  scores.forEach((r, i) => s.set(r, i * classes));
  return { rows: Int32Array.from(rows), yTrue: Int32Array.from(yTrue), score: s, classes, yPred: Int32Array.from(scores, (r) => argmax(r)) };
}

function pubBrainTasks(t: ScoreTable): PubBrainTasks {
  if (t.classes.length !== 5) throw new Error(`Pub-Brain-5 takes 5 classes, the table has ${t.classes.length}`);
  const row = (i: number, cols: readonly number[]) => cols.map((c) => t.logits[i * 5 + c]);
  const gt = (i: number, c: number) => t.labels[i * 5 + c];
  const all = Array.from({ length: t.n }, (_, i) => i);
  const anomaly = ANOMALY.map(([name, c]) => {
    const rows = all.filter((i) => gt(i, 0) + gt(i, c) === 1);
    const sc = rows.map((i) => softmaxRow(row(i, [0, c])));
    const s = subset(rows, rows.map((i) => gt(i, c)), sc, 2);
    // The script thresholds P(disease) at 0.5 (not argmax): the same except on exact ties, where >= picks the disease.
    s.yPred = Int32Array.from(sc, (p) => (p[1] >= 0.5 ? 1 : 0));
    return { name, s };
  });
  const tRows = all.filter((i) => TUMOUR_COLS.reduce((a, c) => a + gt(i, c), 0) === 1);
  const tumour = subset(tRows, tRows.map((i) => argmax(TUMOUR_COLS.map((c) => gt(i, c)))), tRows.map((i) => softmaxRow(row(i, TUMOUR_COLS))), 3);
  const disease = subset(all, all.map((i) => argmax(Array.from(t.labels.subarray(i * 5, i * 5 + 5)))), all.map((i) => softmaxRow(row(i, [0, 1, 2, 3, 4]))), 5);
  disease.truth = t.labels; // the script's ground_truth.numpy(), not the argmax one-hot
  return { anomaly, tumour, disease };
}

const subWeights = (s: Subset, w?: ArrayLike<number>) => (w ? Float64Array.from(s.rows, (r) => w[r]) : undefined);
const oneHot = (y: Int32Array, k: number) => {
  const out = new Uint8Array(y.length * k);
  y.forEach((v, i) => (out[i * k + v] = 1));
  return out;
};
const nanMean = (xs: number[]) => {
  const f = xs.filter((x) => !Number.isNaN(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

function pubBrainMetrics(p: PubBrainTasks, weights?: ArrayLike<number>): SetMetrics {
  const v: Record<string, number> = {};
  const aucs: number[] = [], f1s: number[] = [], bas: number[] = [];
  for (const { name, s } of p.anomaly) {
    const w = subWeights(s, weights);
    const n = s.rows.length;
    const auc = binaryAuc(s.yTrue, Float64Array.from({ length: n }, (_, i) => s.score[i * 2 + 1]), n, { weights: w });
    const f1 = weightedF1(s.yTrue, s.yPred, w);
    const ba = balancedAccuracy(s.yTrue, s.yPred, w);
    v[`auc (pubbrain5_anomaly_${name})`] = auc;
    v[`weighted_f1 (pubbrain5_anomaly_${name})`] = f1;
    v[`balanced_acc (pubbrain5_anomaly_${name})`] = ba;
    aucs.push(auc), f1s.push(f1), bas.push(ba);
  }
  // np.nanmean: the anomaly figures skip diseases that cannot be scored (HLIP's own choice, kept).
  v['auc (pubbrain5_anomaly)'] = nanMean(aucs);
  v['weighted_f1 (pubbrain5_anomaly)'] = nanMean(f1s);
  v['balanced_acc (pubbrain5_anomaly)'] = nanMean(bas);

  const scorable: Record<string, ScorableMacro> = {};
  const multi = (task: 'tumor' | 'disease', s: Subset, names: string[]) => {
    const truth = s.truth ?? oneHot(s.yTrue, s.classes);
    const w = subWeights(s, weights);
    const n = s.rows.length;
    const m = macroAuc(truth, s.score, n, s.classes, w);
    v[`auc (pubbrain5_${task})`] = m.macro;
    v[`weighted_f1 (pubbrain5_${task})`] = weightedF1(s.yTrue, s.yPred, w);
    v[`balanced_acc (pubbrain5_${task})`] = balancedAccuracy(s.yTrue, s.yPred, w);
    const key = `auc (pubbrain5_${task})`;
    scorable[key] = { key, value: m.macroScorable, unscorable: m.unscorable.map((c) => names[c]) };
    names.forEach((name, i) => {
      const yBin = Int32Array.from(s.yTrue, (y) => (y === i ? 1 : 0));
      const sc = Float64Array.from({ length: n }, (_, k) => s.score[k * s.classes + i]);
      const pred = Int32Array.from(sc, (x) => (x >= 0.5 ? 1 : 0));
      v[`auc (pubbrain5_${task}_${name})`] = binaryAuc(yBin, sc, n, { weights: w });
      v[`weighted_f1 (pubbrain5_${task}_${name})`] = weightedF1(yBin, pred, w);
      v[`balanced_acc (pubbrain5_${task}_${name})`] = balancedAccuracy(yBin, pred, w);
    });
  };
  multi('tumor', p.tumour, TUMOUR_NAMES);
  multi('disease', p.disease, DISEASE_NAMES);
  return { values: v, scorable };
}
