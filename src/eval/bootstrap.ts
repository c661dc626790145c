/**
 * Bootstrap confidence intervals: studies resampled with replacement (n of n), every figure recomputed on the resample
 * (as per-study counts, see metrics/set-metrics.ts), the 2.5th and 97.5th percentiles (numpy's linear interpolation)
 * of the draws that are defined. Draws come from a seeded generator, so the same seed and the same studies in the same
 * order give the same intervals, and two checkpoints on the same studies see the same resamples (paired bootstrap).
 */
import { type EvalSetId, type Prepared, setMetrics } from './metrics/set-metrics';

export const DEFAULT_DRAWS = 1000;
export const DEFAULT_SEED = 0;

/** sfc32 seeded through splitmix32: uniform in [0, 1), identical on every platform. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** How many times each of n studies is drawn in one resample. */
export function resampleCounts(n: number, uniform: () => number): Float64Array {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[Math.floor(uniform() * n)]++;
  return w;
}

/** numpy.percentile(values, q) with the default linear interpolation; values sorted ascending. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (!m) return NaN;
  const pos = (q / 100) * (m - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, m - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Interval {
  lo: number;
  hi: number;
  /** Draws where the figure was defined (others, e.g. a resample with one class, are left out). */
  defined: number;
  draws: number;
}

export interface PairedDifference extends Interval {
  /** Figure of B minus figure of A on all the studies. */
  difference: number;
  /** Two-sided bootstrap p-value for "no difference": 2 x the smaller tail share of draws on either side of 0. */
  p: number;
}

export interface BootstrapOptions {
  draws?: number;
  seed?: number;
}

/** Every figure of one resample: HLIP's keys, plus "<macro key> scorable" for the scorable-column means. */
function figures(set: EvalSetId, p: Prepared, w?: ArrayLike<number>): Record<string, number> {
  const m = setMetrics(set, p, w);
  const out = { ...m.values };
  for (const [k, s] of Object.entries(m.scorable)) out[`${k} scorable`] = s.value;
  return out;
}

function interval(values: number[], draws: number): Interval {
  const d = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return { lo: percentile(d, 2.5), hi: percentile(d, 97.5), defined: d.length, draws };
}

/** 95% intervals of every figure (keys as `figures`). */
export function bootstrapIntervals(set: EvalSetId, p: Prepared, opts: BootstrapOptions = {}): Record<string, Interval> {
  const draws = opts.draws ?? DEFAULT_DRAWS;
  const uniform = seededUniform(opts.seed ?? DEFAULT_SEED);
  const acc: Record<string, number[]> = {};
  for (let b = 0; b < draws; b++) {
    const f = figures(set, p, resampleCounts(p.table.n, uniform));
    for (const [k, v] of Object.entries(f)) (acc[k] ??= []).push(v);
  }
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, interval(v, draws)]));
}

/**
 * Paired bootstrap of B minus A: both tables hold the same studies in the same order (their logits differ), each draw
 * resamples the studies once and scores both.
 */
export function pairedBootstrap(set: EvalSetId, a: Prepared, b: Prepared, opts: BootstrapOptions = {}): Record<string, PairedDifference> {
  if (a.table.n !== b.table.n) throw new Error(`paired bootstrap needs the same studies (${a.table.n} vs ${b.table.n})`);
  const draws = opts.draws ?? DEFAULT_DRAWS;
  const uniform = seededUniform(opts.seed ?? DEFAULT_SEED);
  const fa = figures(set, a);
  const fb = figures(set, b);
  const acc: Record<string, number[]> = {};
  for (let k = 0; k < draws; k++) {
    const w = resampleCounts(a.table.n, uniform);
    const da = figures(set, a, w);
    const db = figures(set, b, w);
    for (const key of Object.keys(fa)) (acc[key] ??= []).push(db[key] - da[key]);
  }
  const out: Record<string, PairedDifference> = {};
  for (const [key, diffs] of Object.entries(acc)) {
    const iv = interval(diffs, draws);
    const d = diffs.filter((x) => !Number.isNaN(x));
    const below = d.filter((x) => x <= 0).length;
    const above = d.filter((x) => x >= 0).length;
    const p = d.length ? Math.min(1, (2 * (Math.min(below, above) + 1)) / (d.length + 1)) : NaN;
    out[key] = { ...iv, difference: fb[key] - fa[key], p };
  }
  return out;
}
