/**
 * One evaluation run (or one shard of it): labelled studies -> per checkpoint, image embeddings (cached) -> logits
 * against the set's class embeddings. Studies stream one at a time (only logits are kept), checkpoints one after the
 * other on one inference worker. The result is an EvalRecord (evaluation.json / a shard's record), from which
 * report.ts computes every figure: a merge of shard records gives the record, hence the report, of one unsharded run.
 */
import { DEFAULT_HEAD_CT_WINDOWS, type Protocol, preprocessStudy } from '../hlip/preprocess/study-input';
import { scoreSet, zeroShotSet } from '../hlip/classify/zero-shot';
import { selectScans } from '../hlip/classify/study-classifier';
import { HlipEngine } from '../hlip/inference/engine';
import { nameOf } from '../hlip/models/model-catalogue';
import { openStudy } from '../volume/open';
import { EmbeddingCache, filesUnder } from './embedding-cache';
import { EvalError, StudySkip } from './errors';
import { type EvalStudy, type Skipped, hlipStudyInput, resolveStudies, scanFiles } from './dataset/hlip-layout';
import { readLabels } from './dataset/labels-csv';
import type { EvalSetId } from './metrics/set-metrics';
import { type EvalModel, prepareEvalModel } from './model-cache';
import { CodedError } from '../shared/coded-error';

export type Layout = 'hlip' | 'raw';

/** Pre-processing versions (part of the embedding cache key): bump when an input path changes its numbers. */
export const PREPROCESSING_VERSION = { hlip: 'hlip-pt/1', raw: 'raw/1' } as const;

/** Which protocol of this project's pre-processing a set's raw studies take. */
export const SET_PROTOCOL: Record<EvalSetId, Protocol> = { mri: 'mri', pubbrain5: 'mri', ct: 'head-ct', rsna: 'head-ct', ctrate: 'chest-ct' };

export interface Shard {
  index: number;
  count: number;
}

export interface StudyLabels {
  study: string;
  index: number;
  sub: number;
  labels: number[];
}

/** Which checkpoint a result or report is about. */
export interface ModelIdentity {
  label: string;
  path: string;
  sha256: string;
  visualHash: string;
  textHash?: string;
  untrained: boolean;
}

export interface ModelResult extends ModelIdentity {
  warnings: string[];
  /** Per evaluated study: its logits over the set's classes (pubbrain5: logit_scale x cosine; ctrate: P(positive)). */
  rows: { study: string; logits: number[] }[];
}

/** What a run (or shard) produced: enough to compute the report, nothing machine- or cache-dependent. */
export interface EvalRecord {
  format: 'hlip-eval';
  version: 1;
  set: EvalSetId;
  classes: string[];
  layout: Layout;
  shard: Shard;
  /** Data rows of the labels CSV. */
  csvRows: number;
  studies: StudyLabels[];
  skipped: (Skipped & { model?: string })[];
  models: ModelResult[];
  warnings: string[];
}

export interface RunStats {
  /** Per checkpoint: embeddings computed now, and taken from the cache. */
  models: { label: string; computed: number; cached: number; built: string[]; seconds: number }[];
  studiesPerSecond: number;
}

export interface Progress {
  model: string;
  modelIndex: number;
  models: number;
  done: number;
  total: number;
  studiesPerSecond: number;
  etaSeconds: number;
}

export interface EvalRequest {
  models: string[];
  data: string;
  labels: string;
  set: EvalSetId;
  layout: Layout;
  shard?: Shard;
  cache: string;
  providers: string[];
  /** The user listed webgpu: a software GPU adapter is acceptable (provider-order.ts listsWebgpu). */
  softwareGpu?: boolean;
  workerScript: string;
  vocab?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
}

/** Distinct readable labels for the checkpoints ("epoch_3", "epoch_3-2", ...). */
export function modelLabels(paths: string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const base = nameOf(p);
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}-${k}`;
  });
}

function logitsOf(set: EvalSetId, m: EvalModel, embedding: Float32Array): number[] {
  const kind = zeroShotSet(set).kind;
  if (kind === 'cosine') return Array.from(scoreSet(embedding, m.classEmbeddings, 'cosine'));
  if (kind === 'pairs') return Array.from(scoreSet(embedding, m.classEmbeddings, 'pairs', m.record.logitScale));
  // Pub-Brain-5: the script's logits are model_out['logit_scale'] (exp of the parameter) x cosine; softmax comes later.
  if (m.record.logitScale === undefined) throw new EvalError('BAD_OPTION', `${m.path} has no logit_scale, which Pub-Brain-5 scoring needs.`);
  const scale = Math.exp(m.record.logitScale);
  return Array.from(scoreSet(embedding, m.classEmbeddings, 'cosine'), (c) => scale * c);
}

interface StudyInput {
  hash: string;
  load: () => Promise<{ data: Float32Array; shape: number[] }>;
}

async function studyInput(req: EvalRequest, study: EvalStudy, m: EvalModel, cache: EmbeddingCache): Promise<StudyInput> {
  const visual = m.record.visual;
  if (req.layout === 'hlip') {
    const files = scanFiles(req.set, study.dir);
    return { hash: await cache.studyHash(study.dir, files), load: () => hlipStudyInput(req.set, files, visual.imgSize, visual.maxNumScans) };
  }
  const files = filesUnder(study.dir);
  if (!files.length) throw new StudySkip('no file in the study folder');
  const protocol = SET_PROTOCOL[req.set];
  return {
    hash: await cache.studyHash(study.dir, files),
    load: async () => {
      let s;
      try {
        s = await openStudy(study.dir, { wholeSeries: true });
      } catch (e) {
        throw new StudySkip(e instanceof CodedError ? e.message : `unreadable (${(e as Error).message})`);
      }
      const perVolume = protocol === 'head-ct' ? (m.record.ctWindows?.length ?? DEFAULT_HEAD_CT_WINDOWS.length) : 1;
      let picked;
      try {
        picked = selectScans(s.volumes, visual.maxNumScans > 0 ? Math.max(1, Math.floor(visual.maxNumScans / perVolume)) : 0);
      } catch (e) {
        throw new StudySkip((e as Error).message);
      }
      const pre = preprocessStudy(picked.volumes, protocol, { imgSize: visual.imgSize, ctWindows: m.record.ctWindows });
      return { data: pre.data, shape: pre.shape };
    },
  };
}

const preprocessingKey = (req: EvalRequest, m: EvalModel) =>
  req.layout === 'hlip' ? `${PREPROCESSING_VERSION.hlip}:${req.set === 'pubbrain5' ? 'pubbrain5' : 'as-stored'}` : `${PREPROCESSING_VERSION.raw}:${SET_PROTOCOL[req.set]}:${JSON.stringify(m.record.ctWindows ?? null)}`;

export async function evaluate(req: EvalRequest): Promise<{ record: EvalRecord; stats: RunStats }> {
  const shard = req.shard ?? { index: 0, count: 1 };
  if (!(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new EvalError('BAD_OPTION', `--shard ${shard.index}/${shard.count}: the index runs from 0 to count - 1.`);
  }
  if (!req.models.length) throw new EvalError('BAD_OPTION', 'Give at least one --model.');
  const set = zeroShotSet(req.set);
  const labels = readLabels(req.labels, set.classnames, req.set);
  const resolved = req.layout === 'hlip' ? resolveStudies(req.set, req.data, labels.rows) : resolveRaw(req.data, labels.rows);
  // Round-robin over the resolved studies; CSV-level problems are reported by the shard that owns the row.
  const mine = resolved.studies.filter((_, k) => k % shard.count === shard.index);
  const skipped: EvalRecord['skipped'] = resolved.skipped.filter((s) => s.row % shard.count === shard.index);
  const labelsOf: StudyLabels[] = mine.map((s) => ({ study: s.id, index: s.index, sub: s.sub, labels: Array.from(s.labels) }));

  const cache = new EmbeddingCache(req.cache);
  const log = req.log ?? (() => {});
  // Started on first use: a fully cached run never needs an inference worker.
  let started: HlipEngine | undefined;
  const engine = async () => (started ??= await HlipEngine.start({ workerScript: req.workerScript, providers: req.providers, softwareGpu: req.softwareGpu }));
  const labelsList = modelLabels(req.models);
  const models: ModelResult[] = [];
  const stats: RunStats = { models: [], studiesPerSecond: 0 };
  const total = mine.length * req.models.length;
  let done = 0;
  const t0 = performance.now();
  try {
    for (const [mi, path] of req.models.entries()) {
      const label = labelsList[mi];
      const tm = performance.now();
      const m = await prepareEvalModel(req.cache, path, req.set, engine, { vocab: req.vocab, log: (s) => log(`${label}: ${s}`) });
      let loaded = false;
      const pp = preprocessingKey(req, m);
      const result: ModelResult = {
        label, path, sha256: m.record.sha256, visualHash: m.record.visualHash, textHash: m.record.textHash, untrained: m.record.untrained, warnings: m.record.warnings, rows: [],
      };
      let computed = 0, cached = 0;
      for (const study of mine) {
        if (req.signal?.aborted) throw new CodedError('CANCELLED', 'Evaluation cancelled (what was computed is cached: run it again to resume).');
        try {
          const input = await studyInput(req, study, m, cache);
          let emb = cache.get(m.record.visualHash, pp, input.hash);
          if (emb) cached++;
          else {
            const x = await input.load();
            const e = await engine();
            if (!loaded) {
              await e.load({ visualPath: m.visualOnnx });
              loaded = true;
            }
            const out = await e.encodeImage(x.data, x.shape, { signal: req.signal });
            emb = out.embedding.data.slice(0, out.embedding.dims[2]);
            cache.put(m.record.visualHash, pp, input.hash, emb);
            computed++;
          }
          result.rows.push({ study: study.id, logits: logitsOf(req.set, m, emb) });
        } catch (e) {
          if (!(e instanceof StudySkip)) throw e;
          skipped.push({ study: study.id, row: study.index, reason: e.message, ...(req.models.length > 1 ? { model: label } : {}) });
        }
        done++;
        const secs = (performance.now() - t0) / 1000;
        const rate = done / Math.max(secs, 1e-9);
        req.onProgress?.({ model: label, modelIndex: mi, models: req.models.length, done, total, studiesPerSecond: rate, etaSeconds: (total - done) / rate });
      }
      models.push(result);
      stats.models.push({ label, computed, cached, built: m.built, seconds: (performance.now() - tm) / 1000 });
    }
  } finally {
    await started?.dispose();
  }
  stats.studiesPerSecond = total / Math.max((performance.now() - t0) / 1000, 1e-9);
  // Skips in one order whatever the run: by CSV row, then name (a merge sorts the same way).
  sortSkipped(skipped);
  const record: EvalRecord = {
    format: 'hlip-eval', version: 1, set: req.set, classes: set.classnames, layout: req.layout, shard, csvRows: labels.rows.length,
    studies: labelsOf, skipped, models, warnings: labels.warnings,
  };
  return { record, stats };
}

/** One order for skipped studies whatever the sharding: CSV row, then name, then checkpoint. */
export function sortSkipped(s: EvalRecord['skipped']): void {
  s.sort((a, b) => a.row - b.row || (a.study < b.study ? -1 : a.study > b.study ? 1 : 0) || (a.model ?? '').localeCompare(b.model ?? '') || a.reason.localeCompare(b.reason));
}

/** Raw layout: <data>/<study>/ holds the study's DICOM or NIfTI files; one study per CSV row. */
function resolveRaw(root: string, rows: ReturnType<typeof readLabels>['rows']) {
  return resolveStudies('mri', root, rows); // same rule as HLIP's mri layout: the row's folder, non-empty
}
