/** Zero-shot prompts, template averaging and scoring (HLIP's zeroshot_*.py + open_clip build_zero_shot_classifier). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averageClassEmbeddings, diagnosisMap, fillTemplate, flattenPrompts, logitScaleOf, promptsFor, rankScores, scorePrompt,
  scoreSet, setKind, zeroShotSet, zeroShotSets, type ZeroShotSet,
} from '../../src/hlip/classify/zero-shot';

const close = (a: number, b: number, tol = 1e-6, msg?: string) => assert.ok(Math.abs(a - b) <= tol, msg ?? `${a} != ${b}`);

test('sets, kinds and prompt counts', () => {
  const sets = Object.values(zeroShotSets());
  assert.deepEqual(sets.map((s) => [s.id, s.kind]), [['mri', 'cosine'], ['ct', 'cosine'], ['pubbrain5', 'softmax'], ['rsna', 'cosine'], ['ctrate', 'pairs']]);
  const mri = promptsFor(zeroShotSet('mri'));
  assert.equal(mri.length, 74);
  assert.ok(mri.every((g) => g.texts.length === 18));
  assert.equal(mri[0].texts[0], 'This study shows: acute ischemic stroke.');
  assert.equal(mri[0].texts[13], 'This study shows: indicative of acute ischemic stroke.');
  assert.equal(flattenPrompts(mri).texts.length, 74 * 18);
  const ct = promptsFor(zeroShotSet('ct'));
  assert.equal(ct.length, 82);
  assert.ok(ct.every((g) => g.texts.length === 18));
  assert.equal(promptsFor(zeroShotSet('rsna')).length, 5);

  const pb = promptsFor(zeroShotSet('pubbrain5'));
  assert.deepEqual(pb.map((g) => g.texts.length), [1, 18, 18, 18, 18]);
  assert.deepEqual(pb[0].texts, ['This study shows: no significant abnormalities.']);
  assert.equal(pb[0].className, 'Normal');
  assert.equal(pb[1].texts[1], 'This study shows: acute stroke identified.');
  assert.deepEqual(flattenPrompts(pb).textsPerClass, [1, 18, 18, 18, 18]);
  assert.throws(() => zeroShotSet('nope'), /unknown zero-shot set/);
  assert.equal(setKind('pubbrain5'), 'softmax');
  assert.equal(setKind('rsna'), 'cosine');
  assert.equal(fillTemplate('a {} b', '$&x'), 'a $&x b'); // no replacement-pattern surprises
});

test('pairs sets give (negative, positive) groups', () => {
  const set: ZeroShotSet = {
    id: 'chest', kind: 'pairs', classnames: ['Emphysema', 'Lung nodule'], prompts: ['Emphysema', 'Nodule'],
    negativePrompts: ['Not emphysema', 'Not nodule'], templates: ['The volume shows: {}.'],
  };
  const g = promptsFor(set);
  assert.deepEqual(g.map((x) => [x.classIndex, x.polarity, x.texts[0]]), [
    [0, 'negative', 'The volume shows: Not emphysema.'], [0, 'positive', 'The volume shows: Emphysema.'],
    [1, 'negative', 'The volume shows: Not nodule.'], [1, 'positive', 'The volume shows: Nodule.'],
  ]);
  assert.throws(() => promptsFor({ ...set, negativePrompts: ['x'] }), /no negative prompt/);
  // HLIP's CT-RATE set (chest CT): 16 findings, one (negative, positive) pair each with the "volume" template.
  const ctrate = promptsFor(zeroShotSet('ctrate'));
  assert.equal(ctrate.length, 32);
  assert.deepEqual([ctrate[2].texts, ctrate[3].texts], [['The volume shows: Not atelectatic.'], ['The volume shows: Atelectasis.']]);
});

test('template averaging: normalise each, mean, renormalise', () => {
  // Two classes, dim 3: class 0 from 2 texts, class 1 from 1 text.
  const emb = Float32Array.from([3, 0, 0, 0, 4, 0, 1, 2, 2]);
  const out = averageClassEmbeddings(emb, 3, [2, 1]);
  const s = Math.SQRT1_2;
  assert.deepEqual(Array.from(out.slice(0, 3)).map((v) => +v.toFixed(6)), [s, s, 0].map((v) => +v.toFixed(6)));
  assert.deepEqual(Array.from(out.slice(3)).map((v) => +v.toFixed(6)), [1 / 3, 2 / 3, 2 / 3].map((v) => +v.toFixed(6)));

  // Random embeddings against a direct float64 computation.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const dim = 16;
  const counts = [18, 1, 5];
  const total = counts.reduce((a, b) => a + b);
  const e = Float32Array.from({ length: total * dim }, rnd);
  const got = averageClassEmbeddings(e, dim, counts);
  let row = 0;
  counts.forEach((n, c) => {
    const mean = new Array(dim).fill(0);
    for (let k = 0; k < n; k++, row++) {
      const v = Array.from(e.slice(row * dim, (row + 1) * dim));
      const norm = Math.hypot(...v);
      v.forEach((x, j) => (mean[j] += x / norm / n));
    }
    const norm = Math.hypot(...mean);
    mean.forEach((m, j) => close(got[c * dim + j], m / norm, 1e-6));
  });
  assert.throws(() => averageClassEmbeddings(e, dim, [1]), /expected/);
});

test('scoring: cosine, softmax with the exp(logit_scale) clamp, pairs', () => {
  const img = Float32Array.from([2, 0]); // normalised to [1, 0] inside
  const cls = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]);
  assert.deepEqual(Array.from(scoreSet(img, cls, 'cosine')).map((v) => +v.toFixed(6)), [1, 0, 0.6]);

  // logit_scale raw ln(10) -> scale 10: softmax(10, 0, 6)
  const sm = scoreSet(img, cls, 'softmax', Math.log(10));
  const z = Math.exp(10) + 1 + Math.exp(6);
  [Math.exp(10) / z, 1 / z, Math.exp(6) / z].forEach((p, i) => close(sm[i], p));
  close(sm.reduce((a, b) => a + b, 0), 1);
  assert.equal(logitScaleOf(Math.log(100)), 100);
  assert.equal(logitScaleOf(10), 100); // e^10 clamped
  close(logitScaleOf(Math.log(50)), 50, 1e-9);
  // scale 100 (clamped from e^5): softmax(100 * [1, 0, 0.6])
  const big = scoreSet(img, cls, 'softmax', 5);
  close(big[2], Math.exp(60 - 100) / (1 + Math.exp(-100) + Math.exp(60 - 100)), 1e-12);
  assert.throws(() => scoreSet(img, cls, 'softmax'), /logit_scale/);

  // pairs: class 0 (neg [0,1], pos [1,0]) -> cos (0, 1); class 1 (neg [1,0], pos [0.6,0.8]) -> cos (1, 0.6)
  const pairs = Float32Array.from([0, 1, 1, 0, 1, 0, 0.6, 0.8]);
  const p = scoreSet(img, pairs, 'pairs', Math.log(10));
  close(p[0], 1 / (1 + Math.exp(-10)));
  close(p[1], 1 / (1 + Math.exp(4)));
  assert.throws(() => scoreSet(img, cls, 'pairs', 0), /pairs/);
});

test('ranking, prompt score, diagnosis map', () => {
  const set = { classnames: ['A', 'B', 'C'], prompts: ['a', 'b', 'c'] };
  assert.deepEqual(rankScores(set, [0.2, 0.9, 0.2]), [
    { className: 'B', prompt: 'b', score: 0.9, rank: 1 },
    { className: 'A', prompt: 'a', score: 0.2, rank: 2 },
    { className: 'C', prompt: 'c', score: 0.2, rank: 3 },
  ]);
  assert.throws(() => rankScores(set, [1]), /3 classes/);
  close(scorePrompt(Float32Array.from([1, 1]), Float32Array.from([3, 0])), Math.SQRT1_2);
  assert.equal(scorePrompt(Float32Array.from([0, 0]), Float32Array.from([1, 0])), 0);
  const map = diagnosisMap(Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([1, -1]));
  assert.deepEqual(Array.from(map), [-1, -1, -1]);
  assert.throws(() => diagnosisMap(Float32Array.from([1, 2, 3]), Float32Array.from([1, 1])), /multiple/);
});
