/**
 * sklearn's balanced_accuracy_score and f1_score(average="weighted", zero_division=0) on integer class labels, with
 * optional integer sample counts (a bootstrap resample without materialising it).
 */

interface Counts {
  labels: number[];
  tp: Map<number, number>;
  truth: Map<number, number>;
  predicted: Map<number, number>;
}

function count(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, weights?: ArrayLike<number>): Counts {
  const tp = new Map<number, number>();
  const truth = new Map<number, number>();
  const predicted = new Map<number, number>();
  const add = (m: Map<number, number>, k: number, w: number) => m.set(k, (m.get(k) ?? 0) + w);
  const seen = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) {
    const w = weights ? weights[i] : 1;
    if (w === 0) continue;
    const t = yTrue[i];
    const p = yPred[i];
    seen.add(t).add(p);
    add(truth, t, w);
    add(predicted, p, w);
    if (t === p) add(tp, t, w);
  }
  return { labels: [...seen].sort((a, b) => a - b), tp, truth, predicted };
}

/** Mean recall over the classes present in y_true (sklearn drops classes only predicted); NaN with no sample. */
export function balancedAccuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const c = count(yTrue, yPred, weights);
  let sum = 0, k = 0;
  for (const l of c.labels) {
    const t = c.truth.get(l) ?? 0;
    if (t === 0) continue;
    sum += (c.tp.get(l) ?? 0) / t;
    k++;
  }
  return k ? sum / k : NaN;
}

/** F1 per class (over the labels in y_true or y_pred) averaged with the true counts as weights; 0 when nothing is true. */
export function weightedF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const c = count(yTrue, yPred, weights);
  let acc = 0, total = 0;
  for (const l of c.labels) {
    const tp = c.tp.get(l) ?? 0;
    const t = c.truth.get(l) ?? 0;
    const p = c.predicted.get(l) ?? 0;
    const precision = p ? tp / p : 0;
    const recall = t ? tp / t : 0;
    const denom = precision + recall;
    acc += t * (denom ? (2 * precision * recall) / denom : 0);
    total += t;
  }
  return total ? acc / total : 0;
}
