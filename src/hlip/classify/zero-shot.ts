/**
 * Zero-shot classification as HLIP evaluates it (hlip-ablation zeroshot_*.py + open_clip build_zero_shot_classifier):
 * per class, embed every template filled with the class prompt, L2-normalise each, average, renormalise; then score
 * the (L2-normalised) image embedding against the class embeddings:
 *   - 'cosine'  (MRI-74, CT-82, RSNA): raw cosine per class, no softmax (HLIP scores these by AUC);
 *   - 'softmax' (Pub-Brain-5): softmax over classes of logit_scale * cos;
 *   - 'pairs'   (chest CT): per class a (negative, positive) prompt pair, softmax over the pair, P(positive).
 * logit_scale is stored in checkpoints as its log; open_clip uses exp(), which training clamps to <= 100.
 */
import zeroshotJson from '../../../models/zeroshot.json';
import { CodedError } from '../../shared/coded-error';

export class ZeroShotError extends CodedError<'NO_LOGIT_SCALE' | 'BAD_EMBEDDINGS'> {
  override readonly name = 'ZeroShotError';
}

export type ScoreKind = 'cosine' | 'softmax' | 'pairs';

export interface ZeroShotSet {
  id: string;
  kind: ScoreKind;
  /** Display names, one per class. */
  classnames: string[];
  /** Text put into the templates, one per class (the positive prompt for 'pairs'). */
  prompts: string[];
  /** Python-style templates with one '{}'. */
  templates: string[];
  /** This prompt is embedded with this single text instead of the templates (Pub-Brain-5's "no significant abnormalities"). */
  templateException?: { prompt: string; text: string };
  /** 'pairs' only: the negative prompt of each class ("Not emphysema"). */
  negativePrompts?: string[];
}

/** One embedding to average: a class (or one side of a pair) and the texts that make it. */
export interface PromptGroup {
  classIndex: number;
  className: string;
  prompt: string;
  polarity?: 'negative' | 'positive';
  texts: string[];
}

export interface RankedScore {
  className: string;
  prompt: string;
  score: number;
  /** 1 = best. */
  rank: number;
}

/** A set as stored in models/zeroshot.json. */
export interface RawSet {
  classnames: string[];
  prompts: string[];
  templates: string[];
  template_exception?: { prompt: string; text: string };
  negative_prompts?: string[];
}

const KIND: Record<string, ScoreKind> = { mri: 'cosine', ct: 'cosine', rsna: 'cosine', pubbrain5: 'softmax', ctrate: 'pairs' };

/** How a set is scored: 'cosine' unless listed (unknown ids too, the safe raw-score choice). */
export const setKind = (id: string): ScoreKind => KIND[id] ?? 'cosine';

/** The sets of models/zeroshot.json by id (mri, ct, pubbrain5, rsna, ctrate; keys in file order). Fresh copies each call. */
export function zeroShotSets(): Record<string, ZeroShotSet> {
  const sets = (zeroshotJson as { sets: Record<string, RawSet> }).sets;
  return Object.fromEntries(
    Object.entries(sets).map(([id, s]) => [
      id,
      {
        id,
        kind: setKind(id),
        classnames: [...s.classnames],
        prompts: [...s.prompts],
        templates: [...s.templates],
        ...(s.template_exception ? { templateException: { ...s.template_exception } } : {}),
        ...(s.negative_prompts ? { negativePrompts: [...s.negative_prompts] } : {}),
      },
    ]),
  );
}

export function zeroShotSet(id: string): ZeroShotSet {
  const sets = zeroShotSets();
  if (!Object.hasOwn(sets, id)) throw new Error(`unknown zero-shot set "${id}" (known: ${Object.keys(sets).join(', ')})`);
  return sets[id];
}

/** Python's `template.format(c)` for a template with one '{}'. */
export const fillTemplate = (template: string, prompt: string): string => template.replace('{}', () => prompt);

function textsOf(set: ZeroShotSet, prompt: string): string[] {
  if (set.templateException && set.templateException.prompt === prompt) return [set.templateException.text];
  return set.templates.map((t) => fillTemplate(t, prompt));
}

/** Text groups in embedding order: one per class, or (negative, positive) per class for 'pairs'. */
export function promptsFor(set: ZeroShotSet): PromptGroup[] {
  const groups: PromptGroup[] = [];
  set.prompts.forEach((prompt, i) => {
    const className = set.classnames[i];
    if (set.kind === 'pairs') {
      const neg = set.negativePrompts?.[i];
      if (neg === undefined) throw new Error(`set ${set.id}: class ${className} has no negative prompt`);
      groups.push({ classIndex: i, className, prompt: neg, polarity: 'negative', texts: textsOf(set, neg) });
      groups.push({ classIndex: i, className, prompt, polarity: 'positive', texts: textsOf(set, prompt) });
    } else groups.push({ classIndex: i, className, prompt, texts: textsOf(set, prompt) });
  });
  return groups;
}

/** All texts of the groups in order, and how many belong to each group (for averageClassEmbeddings). */
export function flattenPrompts(groups: readonly PromptGroup[]): { texts: string[]; textsPerClass: number[] } {
  return { texts: groups.flatMap((g) => g.texts), textsPerClass: groups.map((g) => g.texts.length) };
}

function normalizeInPlace(v: Float32Array | Float64Array): void {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
}

/**
 * textEmb [sum(textsPerClass) * dim] -> [groups * dim]: each text embedding L2-normalised, averaged per group,
 * the mean renormalised (open_clip build_zero_shot_classifier). Accumulates in float64.
 */
export function averageClassEmbeddings(textEmb: Float32Array, dim: number, textsPerClass: readonly number[]): Float32Array {
  const total = textsPerClass.reduce((a, b) => a + b, 0);
  if (textEmb.length !== total * dim) throw new Error(`text embeddings: ${textEmb.length} values, expected ${total} x ${dim}`);
  const out = new Float32Array(textsPerClass.length * dim);
  let row = 0;
  textsPerClass.forEach((count, c) => {
    if (count <= 0) throw new Error(`class ${c} has no texts`);
    const acc = new Float64Array(dim);
    const one = new Float64Array(dim);
    for (let k = 0; k < count; k++, row++) {
      for (let j = 0; j < dim; j++) one[j] = textEmb[row * dim + j];
      normalizeInPlace(one);
      for (let j = 0; j < dim; j++) acc[j] += one[j];
    }
    for (let j = 0; j < dim; j++) acc[j] /= count;
    normalizeInPlace(acc);
    out.set(acc, c * dim);
  });
  return out;
}

/** exp(stored log scale), clamped to 100 as open_clip training does. */
export const logitScaleOf = (logitScaleRaw: number): number => Math.min(Math.exp(logitScaleRaw), 100);

function cosines(image: Float32Array, classEmb: Float32Array): Float64Array {
  const dim = image.length;
  if (dim === 0 || classEmb.length % dim !== 0) throw new ZeroShotError('BAD_EMBEDDINGS', `The class embeddings (${classEmb.length} values) do not match the image embedding's size ${dim}; convert the model again`);
  const rows = classEmb.length / dim;
  const out = new Float64Array(rows);
  let ii = 0;
  for (let j = 0; j < dim; j++) ii += image[j] * image[j];
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let cc = 0;
    for (let j = 0; j < dim; j++) {
      const c = classEmb[r * dim + j];
      dot += image[j] * c;
      cc += c * c;
    }
    out[r] = ii > 0 && cc > 0 ? dot / Math.sqrt(ii * cc) : 0;
  }
  return out;
}

function softmax(x: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Why a set of this kind cannot be scored with this model, or undefined when it can: softmax and pair scores need the
 * model's temperature, which a checkpoint without `logit_scale` does not have (raw cosines do not).
 */
export function unscorableReason(kind: ScoreKind, logitScaleRaw: number | undefined): string | undefined {
  if (kind === 'cosine' || (logitScaleRaw !== undefined && Number.isFinite(logitScaleRaw))) return undefined;
  return `its ${kind} scores need the model's logit_scale, which this checkpoint does not have`;
}

/**
 * Scores per class. image: [E] (raw or normalised: it is normalised here); classEmb: [groups * E] from
 * averageClassEmbeddings (for 'pairs', groups = 2 per class, negative first). logitScaleRaw is needed for
 * 'softmax' and 'pairs'.
 */
export function scoreSet(image: Float32Array, classEmb: Float32Array, kind: ScoreKind, logitScaleRaw?: number): Float32Array {
  const cos = cosines(image, classEmb);
  if (kind === 'cosine') return Float32Array.from(cos);
  const why = unscorableReason(kind, logitScaleRaw);
  if (why) throw new ZeroShotError('NO_LOGIT_SCALE', `This set cannot be scored: ${why}`);
  const scale = logitScaleOf(logitScaleRaw!);
  if (kind === 'softmax') return Float32Array.from(softmax(Array.from(cos, (c) => scale * c)));
  if (cos.length % 2 !== 0) throw new ZeroShotError('BAD_EMBEDDINGS', 'Scoring as pairs needs a negative and a positive embedding per class; convert the model again');
  const out = new Float32Array(cos.length / 2);
  for (let c = 0; c < out.length; c++) out[c] = softmax([scale * cos[2 * c], scale * cos[2 * c + 1]])[1];
  return out;
}

/** Scores sorted best first, with 1-based ranks (ties keep class order and get distinct ranks). */
export function rankScores(set: Pick<ZeroShotSet, 'classnames' | 'prompts'>, scores: ArrayLike<number>): RankedScore[] {
  if (scores.length !== set.classnames.length) throw new Error(`${scores.length} scores for ${set.classnames.length} classes`);
  return Array.from(scores, (score, i) => ({ className: set.classnames[i], prompt: set.prompts[i], score, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ className, prompt, score }, k) => ({ className, prompt, score, rank: k + 1 }));
}

/** Cosine between an image embedding and one free-text prompt embedding. */
export function scorePrompt(imageEmb: Float32Array, promptEmb: Float32Array): number {
  if (imageEmb.length !== promptEmb.length) throw new Error(`embedding sizes differ: ${imageEmb.length} vs ${promptEmb.length}`);
  return cosines(imageEmb, promptEmb)[0];
}

/**
 * Per-diagnosis patch map of a DINO.txt model: patch_proj [T * E] . text embedding [E] -> [T] (token order as the
 * visual graph's patch_proj output). Pass the L2-normalised text embedding so maps of different prompts compare.
 */
export function diagnosisMap(patchProj: Float32Array, textEmb: Float32Array): Float32Array {
  const E = textEmb.length;
  if (E === 0 || patchProj.length % E !== 0) throw new Error(`patch_proj (${patchProj.length}) is not a multiple of ${E}`);
  const T = patchProj.length / E;
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += patchProj[t * E + j] * textEmb[j];
    out[t] = s;
  }
  return out;
}
