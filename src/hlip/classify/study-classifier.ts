/**
 * One classification pipeline for the editor and the CLI: study volumes -> HLIP input -> image embedding, CLS attention
 * and patch tokens -> zero-shot scores per set -> maps back on each scan's own voxel grid.
 */
import { CodedError } from '../../shared/coded-error';
import type { ClassifyResults, MapRequest, PromptScore, ScoreSet } from './results';
import type { Volume } from '../../volume/volume';
import { gridOf, prefixTokens } from '../model-config';
import type { HlipEngine } from '../inference/engine';
import type { OutTensor } from '../inference/engine-protocol';
import type { ModelEntry, ModelStore } from '../models/model-store';
import { DEFAULT_HEAD_CT_WINDOWS, type Protocol, type ScanInfo, modelGridToVolume, preprocessStudy } from '../preprocess/study-input';
import { WordPieceTokenizer, trimPadding } from '../text/tokenizer';
import { diagnosisMap, rankScores, scoreSet, setKind, zeroShotSets } from './zero-shot';

/** A converted model ready to run: its manifest, tokenizer and the class embeddings computed at import. */
export interface LoadedModel {
  entry: ModelEntry;
  tokenizer?: WordPieceTokenizer;
  classEmbeddings: Map<string, Float32Array>;
}

/** A store entry opened for use: tokenizer from its vocab, class embeddings from its files. */
export function openModel(store: ModelStore, entry: ModelEntry): LoadedModel {
  return {
    entry,
    tokenizer: entry.vocabPath && entry.textPath ? WordPieceTokenizer.fromFile(entry.vocabPath) : undefined,
    classEmbeddings: store.classEmbeddings(entry),
  };
}

export interface Classification {
  results: ClassifyResults;
  /** CLS embedding [E], L2-normalised (what zero-shot scoring uses), and before normalisation. */
  embedding: Float32Array;
  embeddingRaw: Float32Array;
  clsAttn: OutTensor;
  /** [N, d, h, w] CLS attention over the patches, mean over heads. */
  clsAttnMap?: OutTensor;
  patchProj?: OutTensor;
  input: { data: Float32Array; shape: number[] };
  scans: ScanInfo[];
  grid: [number, number, number];
  prefix: number;
}

const SET_TITLES: Record<string, string> = { mri: 'Brain MRI (74)', ct: 'Head CT (82)', pubbrain5: 'Pub-Brain-5', rsna: 'RSNA ICH', ctrate: 'Chest CT (CT-RATE 16)' };
const SETS_FOR: Record<Protocol, string[]> = { mri: ['mri', 'pubbrain5'], 'head-ct': ['ct', 'rsna'], 'chest-ct': ['ctrate'] };

/** MRI unless the study is CT; a chest-CT geometry (single-scan 112x336x336 models) selects the chest pipeline. */
export function chooseProtocol(volumes: Volume[], entry: ModelEntry): Protocol {
  const ct = volumes.some((v) => v.modality === 'CT');
  if (!ct) return 'mri';
  return entry.manifest.visual.imgSize[0] === 112 ? 'chest-ct' : 'head-ct';
}

/** HLIP scans are 3D: localisers and single slices are left out (with a note), 4D volumes contribute frame 0. */
export function selectScans(volumes: Volume[], maxScans: number): { volumes: Volume[]; indices: number[]; warnings: string[] } {
  const warnings: string[] = [];
  const indices: number[] = [];
  volumes.forEach((v, i) => {
    if (v.components !== 1) warnings.push(`${v.name}: colour images are not scans; skipped.`);
    else if (Math.min(...v.dims) < 4) warnings.push(`${v.name}: ${v.dims.join('x')} is not a 3D scan; skipped.`);
    else indices.push(i);
  });
  if (maxScans > 0 && indices.length > maxScans) {
    warnings.push(`The model takes at most ${maxScans} volumes here; using the first ${maxScans} of ${indices.length}.`);
    indices.length = maxScans;
  }
  if (indices.length === 0) throw new CodedError('NO_SCANS', 'No 3D scan in this study to classify (HLIP needs volumes with at least 4 slices in every direction).');
  return { volumes: indices.map((i) => volumes[i]), indices, warnings };
}

export interface ClassifyOptions {
  protocol?: Protocol;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
}

export async function classifyStudy(allVolumes: Volume[], model: LoadedModel, engine: HlipEngine, opts: ClassifyOptions = {}): Promise<Classification> {
  const t0 = performance.now();
  const { entry } = model;
  const visual = entry.manifest.visual;
  const progress = opts.onProgress ?? (() => {});
  const protocol = opts.protocol ?? chooseProtocol(allVolumes, entry);
  // Head CT makes one scan per window of each volume: the model's scan limit counts those.
  const perVolume = protocol === 'head-ct' ? (entry.manifest.ctWindows?.length ?? DEFAULT_HEAD_CT_WINDOWS.length) : 1;
  const picked = selectScans(allVolumes, visual.maxNumScans > 0 ? Math.max(1, Math.floor(visual.maxNumScans / perVolume)) : 0);
  progress(`Pre-processing ${picked.volumes.length} scan(s) (${protocol})`, 0.05);
  const pre = preprocessStudy(picked.volumes, protocol, { imgSize: visual.imgSize, ctWindows: entry.manifest.ctWindows });
  const scans = pre.scans.map((s) => ({ ...s, volumeIndex: picked.indices[s.volumeIndex] }));
  const t1 = performance.now();
  progress(`Running the image encoder on ${engine.info?.visual?.provider ?? 'cpu'}`, 0.15);
  // copy: the input stays available for export (`hlip embed`) and for a retry after a cancel.
  const out = await engine.encodeImage(pre.data, pre.shape, { signal: opts.signal, copy: true });
  const t2 = performance.now();
  const E = out.embedding.dims[2];
  const embedding = out.embedding.data.slice(0, E);
  const embeddingRaw = out.embeddingRaw.data.slice(0, E);

  const sets: ScoreSet[] = [];
  const all = zeroShotSets();
  for (const name of SETS_FOR[protocol]) {
    const classEmb = model.classEmbeddings.get(name);
    if (!classEmb || !all[name]) continue;
    const kind = setKind(name);
    const scores = scoreSet(embedding, classEmb, kind, entry.manifest.logitScale);
    sets.push({ name, title: SET_TITLES[name] ?? name, kind, rows: rankScores(all[name], scores) });
  }
  const t3 = performance.now();
  const info = engine.info?.visual;
  const results: ClassifyResults = {
    model: { id: entry.manifest.id, name: entry.manifest.name, variant: visual.name, untrained: !!entry.manifest.untrained },
    provider: info?.provider ?? 'cpu',
    fallback: info?.fallback?.reason,
    protocol,
    scans: scans.map((s) => ({ name: s.name, volumeIndex: s.volumeIndex, window: s.window?.name })),
    sets,
    timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, scoringMs: t3 - t2, totalMs: t3 - t0 },
    maps: { cls: true, perDiagnosis: !!out.patchProj },
    warnings: [...picked.warnings, ...pre.warnings, ...entry.manifest.warnings],
  };
  if (!model.classEmbeddings.size) results.warnings.push('This model has no text tower: no zero-shot scores, only embeddings and attention.');
  return {
    results,
    embedding,
    embeddingRaw,
    clsAttn: out.clsAttn,
    clsAttnMap: out.clsAttnMap,
    patchProj: out.patchProj,
    input: { data: pre.data, shape: pre.shape },
    scans,
    grid: gridOf(visual),
    prefix: prefixTokens(visual),
  };
}

/** The text embedding of one prompt (tokenised as HLIP does), L2-normalised, plus its word pieces. */
export async function embedPrompt(model: LoadedModel, engine: HlipEngine, text: string): Promise<{ embedding: Float32Array; pieces: string[]; truncated: boolean }> {
  if (!model.tokenizer || !model.entry.manifest.text) throw new CodedError('NO_TEXT_TOWER', 'This model has no text tower (or no vocab.txt to tokenise with), so prompts cannot be scored.');
  const L = model.entry.manifest.text.contextLength;
  const enc = model.tokenizer.encode(text, L);
  const out = await engine.encodeText(trimPadding(model.tokenizer.encodeBatch([text], L)));
  return { embedding: out.embedding.data, pieces: enc.pieces, truncated: enc.truncated };
}

export async function scorePrompt(c: Classification, model: LoadedModel, engine: HlipEngine, text: string): Promise<PromptScore> {
  const p = await embedPrompt(model, engine, text);
  let dot = 0;
  for (let i = 0; i < p.embedding.length; i++) dot += p.embedding[i] * c.embedding[i];
  return { text, pieces: p.pieces, score: dot, truncated: p.truncated };
}

export const CUSTOM_SET = 'custom';

/**
 * The user's saved prompts as a set of their own, scored like the diagnoses (raw cosine) so they rank side by side.
 * Returns undefined when there are none or the model has no text tower.
 */
export async function scoreCustomSet(c: Classification, model: LoadedModel, engine: HlipEngine, prompts: string[]): Promise<ScoreSet | undefined> {
  if (!prompts.length || !model.tokenizer || !model.entry.manifest.text) return undefined;
  const out = await engine.encodeText(trimPadding(model.tokenizer.encodeBatch(prompts, model.entry.manifest.text.contextLength)));
  const E = c.embedding.length;
  const rows = prompts.map((text, i) => {
    let dot = 0;
    for (let k = 0; k < E; k++) dot += out.embedding.data[i * E + k] * c.embedding[k];
    return { className: text, prompt: text, score: dot };
  });
  return { name: CUSTOM_SET, title: 'My prompts', kind: 'cosine', rows: rows.sort((a, b) => b.score - a.score) };
}

/** Per-patch values over the whole study, [N * d*h*w], for a map request (prefix tokens dropped). */
export async function tokenValues(c: Classification, map: MapRequest, model: LoadedModel, engine: HlipEngine): Promise<Float32Array> {
  const T = c.clsAttn.dims[2];
  if (map.kind === 'cls') {
    if (c.clsAttnMap) return c.clsAttnMap.data;
    const heads = c.clsAttn.dims[1];
    const out = new Float32Array(T - c.prefix);
    for (let h = 0; h < heads; h++) {
      const row = c.clsAttn.data.subarray(h * T + c.prefix, (h + 1) * T);
      for (let i = 0; i < out.length; i++) out[i] += row[i] / heads;
    }
    return out;
  }
  if (!c.patchProj) throw new Error('Per-diagnosis maps need a DINO.txt model (its patch tokens live in the joint space).');
  let text: Float32Array;
  if (map.kind === 'prompt') text = (await embedPrompt(model, engine, map.text)).embedding;
  else {
    const set = zeroShotSets()[map.set];
    const k = set?.classnames.indexOf(map.className) ?? -1;
    const emb = model.classEmbeddings.get(map.set);
    if (!set || k < 0 || !emb) throw new Error(`Unknown diagnosis "${map.className}" in set ${map.set}.`);
    const E = c.embedding.length;
    text = emb.subarray(k * E, (k + 1) * E);
  }
  return diagnosisMap(c.patchProj.data, text);
}

/** Maps per-patch values of scan `s` onto that scan's own voxel grid (zero where the model saw padding). */
export function scanMap(c: Classification, values: Float32Array, s: number, volume: Volume): Float32Array {
  const L = c.grid[0] * c.grid[1] * c.grid[2];
  return modelGridToVolume(values.subarray(s * L, (s + 1) * L), c.grid, c.scans[s], volume);
}

