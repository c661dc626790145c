/**
 * ROC-AUC as sklearn's roc_auc_score computes it (trapezoids over the distinct thresholds, so tied scores count half),
 * with optional integer sample counts so a bootstrap resample is scored without materialising it. Where sklearn raises
 * ValueError (one class present, no sample, a non-finite score) the result is NaN, which is what HLIP's scripts record.
 */

/** Row indices of `scores[col]` sorted by score, highest first (ties adjacent). */
export function descendingOrder(scores: ArrayLike<number>, n: number, stride = 1, col = 0): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  // NaN sorts last (a comparator returning NaN would leave the finite rows out of order).
  const at = (i: number) => {
    const v = scores[i * stride + col];
    return Number.isNaN(v) ? -Infinity : v;
  };
  return order.sort((a, b) => at(b) - at(a) || a - b);
}

/**
 * Binary AUC of column `col` of row-major [n x stride] labels (0/1) and scores, rows taken `weights[i]` times (absent:
 * once). `order` is descendingOrder of that column (pass it when scoring the same column many times).
 */
export function binaryAuc(
  labels: ArrayLike<number>, scores: ArrayLike<number>, n: number,
  opts: { stride?: number; col?: number; weights?: ArrayLike<number>; order?: Int32Array } = {},
): number {
  const stride = opts.stride ?? 1;
  const col = opts.col ?? 0;
  const w = opts.weights;
  const order = opts.order ?? descendingOrder(scores, n, stride, col);
  for (let i = 0; i < n; i++) {
    // sklearn refuses non-finite scores ("Input contains NaN"); a row drawn zero times is not part of the input.
    if ((w ? w[i] : 1) !== 0 && !Number.isFinite(scores[i * stride + col])) return NaN;
  }
  // Counts are whole numbers, so twice the area is an exact integer below 2^53 for any realistic n: one rounding at the end.
  let tp = 0, fp = 0, area2 = 0;
  let k = 0;
  while (k < n) {
    const s = scores[order[k] * stride + col];
    let gtp = 0, gfp = 0;
    do {
      const i = order[k];
      const wi = w ? w[i] : 1;
      if (labels[i * stride + col]) gtp += wi;
      else gfp += wi;
      k++;
    } while (k < n && scores[order[k] * stride + col] === s);
    area2 += gfp * (2 * tp + gtp);
    tp += gtp;
    fp += gfp;
  }
  if (tp === 0 || fp === 0) return NaN; // sklearn: "Only one class present in y_true" (or no sample at all)
  return area2 / (2 * tp * fp);
}

export interface MacroAuc {
  /** Per column, NaN where that column cannot be scored. */
  perColumn: number[];
  /** As sklearn's average="macro": NaN as soon as one column cannot be scored (HLIP records NaN then). */
  macro: number;
  /** Mean over the columns that can be scored (NaN when none can). */
  macroScorable: number;
  /** Indices of the columns that cannot be scored. */
  unscorable: number[];
}

/** Presorted orders of every column of a [n x C] score table. */
export function columnOrders(scores: ArrayLike<number>, n: number, C: number): Int32Array[] {
  return Array.from({ length: C }, (_, c) => descendingOrder(scores, n, C, c));
}

/** Macro AUC over the C columns of row-major [n x C] labels and scores (sklearn's multilabel-indicator path). */
export function macroAuc(labels: ArrayLike<number>, scores: ArrayLike<number>, n: number, C: number, weights?: ArrayLike<number>, orders?: Int32Array[]): MacroAuc {
  const perColumn: number[] = [];
  const unscorable: number[] = [];
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const a = binaryAuc(labels, scores, n, { stride: C, col: c, weights, order: orders?.[c] });
    perColumn.push(a);
    if (Number.isNaN(a)) unscorable.push(c);
    else sum += a;
  }
  const scorable = C - unscorable.length;
  return { perColumn, macro: unscorable.length || C === 0 ? NaN : sum / C, macroScorable: scorable ? sum / scorable : NaN, unscorable };
}
