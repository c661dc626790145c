/**
 * One classification pipeline for the editor and the CLI: study volumes -> HLIP input -> image embedding, CLS attention
 * and patch tokens -> zero-shot scores per set -> maps back on each scan's own voxel grid.
 */
import { CodedError } from '../../shared/coded-error';
import type { ClassifyResults, ScoreSet } from './results';
import type { Volume } from '../../volume/volume';
import { gridOf, prefixTokens } from '../model-config';
import type { HlipEngine } from '../inference/engine';
import type { OutTensor } from '../inference/engine-protocol';
import type { ModelCatalogue, ModelEntry } from '../models/model-catalogue';
import { DEFAULT_HEAD_CT_WINDOWS, type Protocol, type ScanInfo, preprocessStudy } from '../preprocess/study-input';
import { WordPieceTokenizer } from '../text/tokenizer';
import { rankScores, scoreSet, setKind, unscorableReason, zeroShotSets } from './zero-shot';

/** A converted model ready to run: its manifest, tokenizer and the class embeddings computed at import. */
export interface LoadedModel {
  entry: ModelEntry;
  tokenizer?: WordPieceTokenizer;
  classEmbeddings: Map<string, Float32Array>;
}

/** A store entry opened for use: tokenizer from its vocab, class embeddings from its files. */
export function openModel(catalogue: ModelCatalogue, entry: ModelEntry): LoadedModel {
  return {
    entry,
    tokenizer: entry.vocabPath && entry.textPath ? WordPieceTokenizer.fromFile(entry.vocabPath) : undefined,
    classEmbeddings: catalogue.classEmbeddings(entry),
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
  const skippedSets: string[] = [];
  for (const name of SETS_FOR[protocol]) {
    const classEmb = model.classEmbeddings.get(name);
    if (!classEmb || !all[name]) continue;
    const kind = setKind(name);
    // A checkpoint without logit_scale still gives raw cosines; only the softmax / pair sets need the temperature.
    const why = unscorableReason(kind, entry.manifest.logitScale);
    if (why) {
      skippedSets.push(`${SET_TITLES[name] ?? name} was not scored: ${why}.`);
      continue;
    }
    const scores = scoreSet(embedding, classEmb, kind, entry.manifest.logitScale);
    sets.push({ name, title: SET_TITLES[name] ?? name, kind, rows: rankScores(all[name], scores) });
  }
  const t3 = performance.now();
  const info = engine.info?.visual;
  const results: ClassifyResults = {
    model: { id: entry.manifest.id, name: entry.manifest.name, variant: visual.name, untrained: !!entry.manifest.untrained },
    provider: info?.provider ?? 'cpu',
    fallback: info?.fallback?.reason,
    precision: info?.precision ?? 'fp32',
    protocol,
    scans: scans.map((s) => ({ name: s.name, volumeIndex: s.volumeIndex, window: s.window?.name })),
    sets,
    timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, scoringMs: t3 - t2, totalMs: t3 - t0 },
    maps: { cls: true, perDiagnosis: !!out.patchProj },
    warnings: [...picked.warnings, ...pre.warnings, ...entry.manifest.warnings, ...skippedSets],
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
