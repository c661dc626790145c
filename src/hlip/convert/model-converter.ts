/**
 * Checkpoint -> converted model in the catalogue: visual.onnx (+ text.onnx, vocab.txt, class embeddings per zero-shot
 * set), described by manifest.json. Slow, so it happens once per checkpoint (keyed by the weights' hash) and, in the
 * extension, in a child process (`hlip import`). Built in a temporary folder and renamed into place at the end: a
 * cancelled or failed conversion leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Checkpoint, CheckpointError, detectModelSpec, loadCheckpoint } from '../checkpoint';
import { type ZeroShotSet, averageClassEmbeddings, flattenPrompts, promptsFor, zeroShotSets } from '../classify/zero-shot';
import { buildDemoVocab } from '../demo/demo-vocab';
import { buildTextOnnx, buildVisualOnnx, type Precision, precisionFile } from '../graph';
import { CancelledError, type HlipEngine } from '../inference/engine';
import type { TextConfig } from '../model-config';
import { CATALOGUE_VERSION, type ModelCatalogue, type ModelEntry, type ModelManifest, type SetEntry, idOf, nameOf, towersAt } from '../models/model-catalogue';
import type { CtWindow } from '../preprocess/study-input';
import { encodeTexts } from '../text/encode-texts';
import { measurePrecision } from './precision-check';
import { WordPieceTokenizer } from '../text/tokenizer';

export interface ConvertOptions {
  /** Runs the text tower for the class embeddings (a sibling worker is used, so this engine's models stay loaded). */
  engine?: HlipEngine;
  /** vocab.txt to use when the checkpoint has none beside it. */
  vocabPath?: string;
  signal?: AbortSignal;
  onProgress?: (stage: string, fraction: number) => void;
  /** Prompts per text-tower call (bounds memory). */
  textBatch?: number;
  /** Also build the towers at this precision beside the fp32 ones (once; see graph/precision.ts). */
  precision?: Precision;
}

/**
 * The converted model of a checkpoint file or folder: from the catalogue, or converted into it now; with
 * `precision`, its towers at that precision are built too when missing. Class embeddings always come from the fp32
 * text tower (computed once at conversion, so a reduced-precision text tower would save nothing there).
 */
export async function convertModel(catalogue: ModelCatalogue, pathOrDir: string, opts: ConvertOptions = {}): Promise<ModelEntry> {
  const entry = await convertFp32(catalogue, pathOrDir, opts);
  if (opts.precision && opts.precision !== 'fp32' && !towersAt(entry, opts.precision)) await buildPrecision(entry, pathOrDir, opts.precision, opts);
  return entry;
}

/**
 * Builds an entry's towers at `precision` from its checkpoint, into a temporary folder inside the entry, then moved
 * beside the fp32 files (weights first, graph last: a graph file present means its weights are complete).
 */
async function buildPrecision(entry: ModelEntry, pathOrDir: string, precision: Precision, opts: ConvertOptions): Promise<void> {
  const check = () => {
    if (opts.signal?.aborted) throw new CancelledError('Model conversion cancelled');
  };
  opts.onProgress?.(`Building the ${precision} encoders (ONNX)`, 0.96);
  const ckpt = await loadCheckpoint(pathOrDir);
  if (idOf(ckpt.sha256) !== entry.manifest.id) throw new CheckpointError('UNSUPPORTED', `${basename(ckpt.path)} is not the checkpoint model ${entry.manifest.id} was converted from`);
  check();
  const tmp = join(entry.dir, `.tmp-${precision}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    const files: string[] = [];
    const visual = precisionFile('visual.onnx', precision);
    buildVisualOnnx(ckpt.tensors, entry.manifest.visual, join(tmp, visual), { precision });
    files.push(visual);
    check();
    if (entry.textPath && entry.manifest.text) {
      const text = precisionFile('text.onnx', precision);
      buildTextOnnx(ckpt.tensors, entry.manifest.text, join(tmp, text), { precision });
      files.push(text);
    }
    check();
    for (const f of files) {
      if (existsSync(join(tmp, `${f}.data`))) renameSync(join(tmp, `${f}.data`), join(entry.dir, `${f}.data`));
    }
    for (const f of files) renameSync(join(tmp, f), join(entry.dir, f));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (opts.engine) {
    opts.onProgress?.(`Checking the ${precision} image encoder against fp32`, 0.98);
    await measurePrecision(opts.engine, entry, precision, opts.signal);
  }
  opts.onProgress?.('Model ready', 1);
}

async function convertFp32(catalogue: ModelCatalogue, pathOrDir: string, opts: ConvertOptions): Promise<ModelEntry> {
  const { signal } = opts;
  const progress = (stage: string, f: number) => opts.onProgress?.(stage, f);
  const check = () => {
    if (signal?.aborted) throw new CancelledError('Model conversion cancelled');
  };
  check();
  // Cheap cache check first: hashing the weights file costs far less than parsing it.
  progress('Checking the model cache', 0);
  const hit = await catalogue.lookup(pathOrDir);
  if (hit) return done(hit, progress);
  check();
  progress('Reading the checkpoint', 0.02);
  const ckpt = await loadCheckpoint(pathOrDir);
  const id = idOf(ckpt.sha256);
  const cached = catalogue.entryAt(join(catalogue.root, id));
  if (cached) return done(cached, progress);
  check();
  const spec = detectModelSpec(ckpt);
  if (!spec.visual) throw new CheckpointError('NO_VISUAL_TOWER', `${basename(ckpt.path)} has no HLIP visual tower${spec.warnings.length ? ` (${spec.warnings.join('; ')})` : ''}`);
  const warnings = [...spec.warnings];

  mkdirSync(catalogue.root, { recursive: true });
  const tmp = join(catalogue.root, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  let sibling: HlipEngine | undefined;
  try {
    progress('Building the image encoder (ONNX)', 0.1);
    buildVisualOnnx(ckpt.tensors, spec.visual, join(tmp, 'visual.onnx'));
    check();
    const sets: Record<string, SetEntry> = {};
    let vocab: ModelManifest['vocab'];
    if (spec.text) {
      progress('Building the text encoder (ONNX)', 0.35);
      buildTextOnnx(ckpt.tensors, spec.text, join(tmp, 'text.onnx'));
      check();
      vocab = writeVocab(ckpt, opts.vocabPath, join(tmp, 'vocab.txt'), spec.text, warnings);
      if (vocab && opts.engine) {
        sibling = await opts.engine.sibling();
        await sibling.load({ textPath: join(tmp, 'text.onnx') }, { signal });
        await embedSets(sibling, tmp, spec.text, sets, opts, (f) => progress('Embedding the zero-shot class prompts', 0.45 + 0.5 * f));
      } else if (vocab) warnings.push('Class embeddings were not computed (no inference engine given): zero-shot sets are unavailable.');
    }
    // Release the text session before renaming: Windows cannot rename a folder holding open model files.
    await sibling?.dispose();
    sibling = undefined;
    check();
    const manifest: ModelManifest = {
      version: CATALOGUE_VERSION,
      id,
      name: nameOf(ckpt.path),
      source: ckpt.path,
      sha256: ckpt.sha256,
      created: new Date().toISOString(),
      format: ckpt.format,
      visual: spec.visual,
      text: spec.text,
      logitScale: spec.logitScale,
      logitBias: spec.logitBias,
      vocab,
      sets,
      warnings,
      untrained: isUntrained(ckpt) || undefined,
      ctWindows: ctWindowsOf(ckpt, warnings),
    };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    const dest = join(catalogue.root, id);
    rmSync(dest, { recursive: true, force: true }); // a stale entry of an older store version
    renameSync(tmp, dest);
    return done(catalogue.entryAt(dest)!, progress);
  } catch (e) {
    await sibling?.dispose();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A text tower converted on its own (checkpoints holding only `text.*`, which the catalogue does not keep). */
export interface TextOnlyModel {
  textPath: string;
  text: TextConfig;
  id: string;
  name: string;
  source: string;
  sha256: string;
  untrained: boolean;
}

/**
 * The text tower of a checkpoint without an image tower, converted under <catalogue>/text-<id>/ (text.onnx + text.json)
 * the same way: built beside and renamed into place.
 */
export async function convertTextOnly(catalogue: ModelCatalogue, path: string): Promise<TextOnlyModel> {
  const ckpt = await loadCheckpoint(path);
  const spec = detectModelSpec(ckpt);
  if (!spec.text) throw new CheckpointError('NO_TEXT_TOWER', `${basename(ckpt.path)} has no text tower (no text.* weights)`);
  const id = idOf(ckpt.sha256);
  const dir = join(catalogue.root, `text-${id}`);
  const model = { textPath: join(dir, 'text.onnx'), text: spec.text, id, name: nameOf(ckpt.path), source: ckpt.path, sha256: ckpt.sha256, untrained: isUntrained(ckpt) };
  if (existsSync(join(dir, 'text.json'))) return { ...model, text: JSON.parse(readFileSync(join(dir, 'text.json'), 'utf8')) as TextConfig };
  mkdirSync(catalogue.root, { recursive: true });
  const tmp = join(catalogue.root, `.tmp-text-${id}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    buildTextOnnx(ckpt.tensors, spec.text, join(tmp, 'text.onnx'));
    writeFileSync(join(tmp, 'text.json'), `${JSON.stringify(spec.text, null, 1)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return model;
}

function done(e: ModelEntry, progress: (s: string, f: number) => void): ModelEntry {
  progress('Model ready', 1);
  return e;
}

/**
 * Head-CT windows a model was trained with, from `hlip_ct_windows` in its open_clip_config.json
 * ([{name, center, width}, ...] in HU): HLIP does not publish them, so a model folder may carry its own.
 */
export function ctWindowsOf(ckpt: Checkpoint, warnings: string[]): CtWindow[] | undefined {
  const raw = ckpt.openClipConfig?.raw.hlip_ct_windows;
  if (raw === undefined) return undefined;
  const ok = Array.isArray(raw) && raw.length > 0 &&
    raw.every((w) => w && typeof w.name === 'string' && Number.isFinite(w.center) && Number.isFinite(w.width) && w.width > 0);
  if (ok) return raw.map((w) => ({ name: w.name, center: w.center, width: w.width }));
  warnings.push('hlip_ct_windows in the model config is not a list of {name, center, width > 0}: the default head-CT windows are used.');
  return undefined;
}

export function isUntrained(ckpt: Checkpoint): boolean {
  if (ckpt.metadata.hlip_untrained === 'true') return true;
  return ckpt.openClipConfig?.raw.hlip_untrained === true;
}

/** vocab.txt: the user's, else the one beside the checkpoint, else the demo vocabulary (with a warning). */
function writeVocab(ckpt: Checkpoint, given: string | undefined, dest: string, text: TextConfig, warnings: string[]): ModelManifest['vocab'] {
  let source: ModelManifest['vocab'];
  if (given) {
    copyFileSync(given, dest);
    source = 'given';
  } else if (ckpt.vocabPath) {
    copyFileSync(ckpt.vocabPath, dest);
    source = 'checkpoint';
  } else if (isUntrained(ckpt)) {
    writeFileSync(dest, `${buildDemoVocab().join('\n')}\n`);
    source = 'demo';
    warnings.push('No vocab.txt beside the checkpoint: prompts are tokenised with the built-in demo vocabulary, not BiomedBERT\'s, so text scores are not meaningful. Put the model\'s vocab.txt next to it and import again.');
  } else {
    // A trained text tower read through another vocabulary would give confident nonsense: no zero-shot sets instead.
    warnings.push('No vocab.txt beside the checkpoint, so prompts cannot be tokenised: zero-shot scores are off (embeddings and attention still work). Put the model\'s vocab.txt (BiomedBERT\'s, from the Hugging Face repo) next to it and import again.');
    return undefined;
  }
  const size = WordPieceTokenizer.fromFile(dest).size;
  if (size > text.vocabSize) throw new CheckpointError('UNSUPPORTED', `vocab.txt has ${size} tokens but the text tower's embedding table only ${text.vocabSize}: it belongs to another model`);
  if (size !== text.vocabSize && source !== 'demo') warnings.push(`vocab.txt has ${size} tokens, the text tower ${text.vocabSize}.`);
  return source;
}

/**
 * One set's class embeddings through a loaded text tower: templates -> tokens -> text tower -> per-class mean ->
 * [groups x projDim]. Conversion runs it for every set; an evaluation (src/eval) for the one set it scores.
 */
export async function embedSetClasses(engine: HlipEngine, tok: WordPieceTokenizer, text: TextConfig, set: ZeroShotSet, opts: { batch?: number; signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}): Promise<Float32Array> {
  const { texts, textsPerClass } = flattenPrompts(promptsFor(set));
  const enc = await encodeTexts(engine, tok, texts, text.contextLength, opts);
  return averageClassEmbeddings(enc.embedding, text.projDim, textsPerClass);
}

/** Per set: class embeddings -> classes-<set>.bin. */
async function embedSets(engine: HlipEngine, dir: string, text: TextConfig, sets: Record<string, SetEntry>, opts: ConvertOptions, progress: (f: number) => void) {
  const tok = WordPieceTokenizer.fromFile(join(dir, 'vocab.txt'));
  const all = Object.values(zeroShotSets());
  const total = all.reduce((n, set) => n + flattenPrompts(promptsFor(set)).texts.length, 0);
  let before = 0;
  progress(0);
  for (const set of all) {
    const count = flattenPrompts(promptsFor(set)).texts.length;
    const classes = await embedSetClasses(engine, tok, text, set, { batch: opts.textBatch, signal: opts.signal, onBatch: (n) => progress((before + n) / total) });
    before += count;
    const file = `classes-${set.id}.bin`;
    writeFileSync(join(dir, file), new Uint8Array(classes.buffer, classes.byteOffset, classes.byteLength));
    sets[set.id] = { classes: set.classnames, file, rows: classes.length / text.projDim, dim: text.projDim };
  }
}
