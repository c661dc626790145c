/**
 * HLIP's zero-shot figures (src/eval/metrics) against Debian's sklearn, called as HLIP's scripts call it
 * (test/oracles/hlip_metrics.py), on seeded random cases with ties, constant columns and tiny sets; bootstrap draws
 * (per-study counts) against the same figures on the materialised resamples, and intervals against numpy.percentile.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootstrapIntervals, pairedBootstrap, resampleCounts, seededUniform } from '../../src/eval/bootstrap';
import { balancedAccuracy, weightedF1 } from '../../src/eval/metrics/classification';
import { binaryAuc } from '../../src/eval/metrics/roc-auc';
import { type EvalSetId, type ScoreTable, prepare, setMetrics } from '../../src/eval/metrics/set-metrics';
import { zeroShotSet } from '../../src/hlip/classify/zero-shot';
import { ROOT, SYSTEM_PYTHON } from '../fixtures';

const TOL = 1e-12;

interface Case { set: EvalSetId; table: ScoreTable; draws: Float64Array[] }

/** A random case: n studies, label density, score levels (few levels = many ties), some constant columns. */
function randomCase(set: EvalSetId, n: number, seed: number, draws: number, classCount?: number): Case {
  const u = seededUniform(seed);
  const classes = zeroShotSet(set).classnames.slice(0, classCount);
  const C = classes.length;
  const labels = new Uint8Array(n * C);
  const logits = new Float64Array(n * C);
  const levels = [2, 3, 5, 0][Math.floor(u() * 4)]; // 0: continuous
  const density = 0.05 + u() * 0.5;
  const constant = new Set(Array.from({ length: Math.floor(u() * 3) }, () => Math.floor(u() * C)));
  for (let i = 0; i < n; i++) {
    if (set === 'pubbrain5') {
      const r = u();
      // Mostly one-hot rows, sometimes two labels or none (the scripts take what the CSV says).
      if (r < 0.9) labels[i * C + Math.floor(u() * C)] = 1;
      else if (r < 0.95) labels[i * C + 0] = labels[i * C + 1 + Math.floor(u() * 4)] = 1;
    }
    for (let c = 0; c < C; c++) {
      if (set !== 'pubbrain5') labels[i * C + c] = constant.has(c) ? (c % 2) : u() < density ? 1 : 0;
      const x = levels ? Math.floor(u() * levels) / levels : u();
      logits[i * C + c] = (set === 'pubbrain5' ? 20 : 1) * (x - 0.5 + 0.3 * labels[i * C + c] * u());
    }
  }
  const uu = seededUniform(seed + 1);
  return { set, table: { n, classes, labels, logits }, draws: Array.from({ length: draws }, () => resampleCounts(n, uu)) };
}

const rowsOf = (w: Float64Array) => Array.from(w).flatMap((k, i) => Array(k).fill(i));

function oracle(cases: Case[]) {
  const input = {
    cases: cases.map((c) => {
      const C = c.table.classes.length;
      const rows = (a: ArrayLike<number>) => Array.from({ length: c.table.n }, (_, i) => Array.from(a).slice(i * C, (i + 1) * C));
      return { set: c.set, classes: c.table.classes, labels: rows(c.table.labels), logits: rows(c.table.logits), draws: c.draws.map(rowsOf) };
    }),
  };
  const out = execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'hlip_metrics.py')], { input: JSON.stringify(input), maxBuffer: 1 << 28 });
  return JSON.parse(out.toString()).results as { values: Record<string, number | null>; draws: Record<string, number | null>[]; intervals: Record<string, [number | null, number | null, number]> }[];
}

function sameFigures(ours: Record<string, number>, theirs: Record<string, number | null>, what: string) {
  assert.deepEqual(Object.keys(ours), Object.keys(theirs), `${what}: keys (and their order)`);
  for (const [k, v] of Object.entries(theirs)) {
    if (v === null) assert.ok(Number.isNaN(ours[k]), `${what} ${k}: sklearn NaN, ours ${ours[k]}`);
    else assert.ok(Math.abs(ours[k] - v) <= TOL, `${what} ${k}: sklearn ${v}, ours ${ours[k]}`);
  }
}

test('figures equal sklearn as HLIP calls it: ties, constant columns, tiny sets, all five sets', () => {
  const cases: Case[] = [];
  let seed = 1;
  for (const set of ['mri', 'ct', 'rsna', 'pubbrain5', 'ctrate'] as EvalSetId[]) {
    for (const n of [0, 1, 2, 3, 5, 8, 13, 40, 120]) cases.push(randomCase(set, n, seed++, 0, set === 'mri' || set === 'ct' ? 12 : undefined));
  }
  cases.push(randomCase('mri', 60, seed++, 0)); // all 74 columns, many of them constant
  for (let k = 0; k < 30; k++) cases.push(randomCase((['rsna', 'pubbrain5', 'ctrate'] as const)[k % 3], 4 + Math.floor(seededUniform(k)() * 60), seed++, 0));
  const ref = oracle(cases);
  let nanMacros = 0, scoredMacros = 0;
  cases.forEach((c, i) => {
    const m = setMetrics(c.set, prepare(c.set, c.table));
    sameFigures(m.values, ref[i].values, `case ${i} (${c.set}, n=${c.table.n})`);
    const macro = m.values[`auc (${c.set})`];
    if (macro !== undefined) Number.isNaN(macro) ? nanMacros++ : scoredMacros++;
  });
  // The cases must exercise both sides of HLIP's NaN rule, or this test proves little.
  assert.ok(nanMacros >= 10 && scoredMacros >= 10, `NaN macros ${nanMacros}, scored ${scoredMacros}`);
});

test('a macro AUC that HLIP records as NaN comes with the mean over the scorable columns and the unscorable names', () => {
  const table: ScoreTable = { n: 4, classes: ['a', 'b', 'c'], labels: Uint8Array.from([1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1]), logits: Float64Array.from([0.9, 0.1, 0.2, 0.1, 0.3, 0.8, 0.8, 0.5, 0.1, 0.2, 0.6, 0.7]) };
  const m = setMetrics('ctrate', prepare('ctrate', table));
  assert.ok(Number.isNaN(m.values['auc (ctrate)']));
  assert.deepEqual(m.scorable['auc (ctrate)'].unscorable, ['b']);
  assert.equal(m.scorable['auc (ctrate)'].value, (m.values['auc (a)'] + m.values['auc (c)']) / 2);
});

test('counts-weighted figures equal the figures of the materialised resample (sklearn), and intervals equal numpy.percentile', () => {
  const cases = [randomCase('ct', 30, 101, 40, 10), randomCase('rsna', 25, 102, 40), randomCase('pubbrain5', 60, 103, 40), randomCase('ctrate', 12, 104, 40)];
  const ref = oracle(cases);
  cases.forEach((c, i) => {
    const p = prepare(c.set, c.table);
    c.draws.forEach((w, d) => sameFigures(setMetrics(c.set, p, w).values, ref[i].draws[d], `case ${i} draw ${d}`));
    // bootstrapIntervals draws with seed s exactly what randomCase drew with seededUniform(s) (seed + 1 there).
    const iv = bootstrapIntervals(c.set, p, { draws: 40, seed: [101, 102, 103, 104][i] + 1 });
    for (const [k, [lo, hi, defined]] of Object.entries(ref[i].intervals)) {
      assert.equal(iv[k].defined, defined, `${k} defined draws`);
      if (lo === null) assert.ok(Number.isNaN(iv[k].lo));
      else assert.ok(Math.abs(iv[k].lo - lo) <= TOL && Math.abs(iv[k].hi - hi!) <= TOL, `${k}: numpy [${lo}, ${hi}], ours [${iv[k].lo}, ${iv[k].hi}]`);
    }
  });
});

test('bootstrap is reproducible by seed, and a different seed gives different draws', () => {
  const c = randomCase('rsna', 50, 7, 0);
  const p = prepare('rsna', c.table);
  const a = bootstrapIntervals('rsna', p, { draws: 200, seed: 3 });
  assert.deepEqual(bootstrapIntervals('rsna', p, { draws: 200, seed: 3 }), a);
  assert.notDeepEqual(bootstrapIntervals('rsna', p, { draws: 200, seed: 4 }), a);
  const lo = a['auc (rsna)'].lo, hi = a['auc (rsna)'].hi;
  const point = setMetrics('rsna', p).values['auc (rsna)'];
  assert.ok(lo <= point && point <= hi && hi - lo > 0.01, `interval [${lo}, ${hi}] around ${point}`);
});

test('paired bootstrap: a checkpoint against itself differs by 0 with p = 1; against a better one, a positive difference with a small p', () => {
  const a = randomCase('ctrate', 80, 11, 0);
  const pa = prepare('ctrate', a.table);
  const self = pairedBootstrap('ctrate', pa, pa, { draws: 300, seed: 1 });
  assert.equal(self['auc (ctrate) scorable'].difference, 0);
  assert.equal(self['auc (ctrate) scorable'].p, 1);
  // B: logits nudged towards the labels, so every AUC improves.
  const C = a.table.classes.length;
  const better = Float64Array.from(a.table.logits, (x, k) => x + 0.4 * a.table.labels[k] * ((k % C) + 1) / C);
  const pb = prepare('ctrate', { ...a.table, logits: better });
  const d = pairedBootstrap('ctrate', pa, pb, { draws: 300, seed: 1 })['auc (ctrate) scorable'];
  assert.ok(d.difference > 0 && d.lo > 0 && d.p < 0.01, JSON.stringify(d));
});

test('edge semantics: non-finite scores and one-class columns are NaN (sklearn raises), weights of 0 drop a row', () => {
  assert.ok(Number.isNaN(binaryAuc([0, 1, 1], [0.1, NaN, 0.3], 3)));
  assert.ok(Number.isNaN(binaryAuc([1, 1], [0.1, 0.3], 2)));
  assert.equal(binaryAuc([0, 1, 1], [0.1, NaN, 0.3], 3, { weights: [1, 0, 2] }), 1);
  assert.equal(binaryAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], 4), 0.875);
  assert.ok(Number.isNaN(balancedAccuracy([], [])));
  assert.equal(weightedF1([], []), 0);
  assert.equal(balancedAccuracy([0, 0, 1], [0, 1, 1], [2, 1, 0]), 2 / 3);
});
