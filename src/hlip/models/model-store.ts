/**
 * Converted-model cache: checkpoint -> visual.onnx (+ text.onnx, vocab.txt, class embeddings per zero-shot set) under
 * <root>/<sha256 prefix>/, described by manifest.json. Converting is slow, so it happens once per checkpoint (keyed by the
 * weights' hash) and survives sessions. A conversion is built in a temporary folder and renamed into place at the end:
 * a cancelled or failed one leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CheckpointError, loadCheckpoint, detectModelSpec, sha256File, type Checkpoint } from '../checkpoint';
import type { TextConfig, VisualConfig } from '../model-config';
import { CancelledError, type HlipEngine } from '../inference/engine';
import { buildTextOnnx, buildVisualOnnx } from '../graph';
import type { CtWindow } from '../preprocess/study-input';
import { WordPieceTokenizer, trimPadding } from '../text/tokenizer';
import { buildDemoVocab } from '../demo/demo-vocab';
import { averageClassEmbeddings, flattenPrompts, promptsFor, zeroShotSets } from '../classify/zero-shot';

/** Bump when the files or the manifest change meaning: older entries are converted again. */
export const STORE_VERSION = 2; // 2: visual.onnx has the cls_attn_map(s) outputs

export interface SetEntry {
  /** Class names in order. */
  classes: string[];
  /** float32 [rows, dim]: one row per class, or (negative, positive) per class for pair sets. */
  file: string;
  rows: number;
  dim: number;
}

export interface ModelManifest {
  version: number;
  id: string;
  name: string;
  /** The checkpoint file it was converted from. */
  source: string;
  sha256: string;
  created: string;
  format: Checkpoint['format'];
  visual: VisualConfig;
  text?: TextConfig;
  /** Raw logit_scale (its log), as stored in the checkpoint. */
  logitScale?: number;
  logitBias?: number;
  /** Where vocab.txt came from: beside the checkpoint, given by the user, or the built-in demo vocabulary. */
  vocab?: 'checkpoint' | 'given' | 'demo';
  sets: Record<string, SetEntry>;
  warnings: string[];
  /** Random-weight model (checkpoint metadata hlip_untrained): its scores mean nothing. */
  untrained?: boolean;
  ctWindows?: CtWindow[];
}

export interface ModelEntry {
  dir: string;
  manifest: ModelManifest;
  visualPath: string;
  textPath?: string;
  vocabPath?: string;
}

export interface ImportOptions {
  /** Runs the text tower for the class embeddings (a sibling worker is used, so this engine's models stay loaded). */
  engine?: HlipEngine;
  /** vocab.txt to use when the checkpoint has none beside it. */
  vocabPath?: string;
  signal?: AbortSignal;
  onProgress?: (stage: string, fraction: number) => void;
  /** Prompts per text-tower call (bounds memory). */
  textBatch?: number;
}

export class ModelStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async list(): Promise<ModelEntry[]> {
    if (!existsSync(this.root)) return [];
    const out: ModelEntry[] = [];
    for (const name of readdirSync(this.root).sort()) {
      if (name.startsWith('.')) continue;
      const e = this.read(join(this.root, name));
      if (e) out.push(e);
    }
    return out.sort((a, b) => b.manifest.created.localeCompare(a.manifest.created));
  }

  async get(id: string): Promise<ModelEntry | undefined> {
    return /^[0-9a-f]{8,64}$/.test(id) ? this.read(join(this.root, id)) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    if (!/^[0-9a-f]{8,64}$/.test(id) || !existsSync(join(this.root, id))) return false;
    rmSync(join(this.root, id), { recursive: true, force: true });
    return true;
  }

  async clear(): Promise<void> {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The class embeddings of every set of an entry: set id -> float32 [rows, dim]. */
  classEmbeddings(entry: ModelEntry): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [id, s] of Object.entries(entry.manifest.sets)) {
      const b = readFileSync(join(entry.dir, s.file));
      out.set(id, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    }
    return out;
  }

  /** The converted model of a checkpoint file or folder: from the cache, or converted now. */
  async importModel(pathOrDir: string, opts: ImportOptions = {}): Promise<ModelEntry> {
    const { signal } = opts;
    const progress = (stage: string, f: number) => opts.onProgress?.(stage, f);
    const check = () => {
      if (signal?.aborted) throw new CancelledError('Model conversion cancelled');
    };
    check();
    // Cheap cache check first: hashing the weights file costs far less than parsing it.
    const guess = weightsFileOf(pathOrDir);
    if (guess) {
      progress('Checking the model cache', 0);
      const hit = this.read(join(this.root, idOf(await this.hashOf(guess))));
      if (hit) return done(hit, progress);
    }
    check();
    progress('Reading the checkpoint', 0.02);
    const ckpt = await loadCheckpoint(pathOrDir);
    const id = idOf(ckpt.sha256);
    const cached = this.read(join(this.root, id));
    if (cached) return done(cached, progress);
    check();
    const spec = detectModelSpec(ckpt);
    if (!spec.visual) throw new CheckpointError('NO_VISUAL_TOWER', `${basename(ckpt.path)} has no HLIP visual tower${spec.warnings.length ? ` (${spec.warnings.join('; ')})` : ''}`);
    const warnings = [...spec.warnings];

    mkdirSync(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
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
        version: STORE_VERSION,
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
      const dest = join(this.root, id);
      rmSync(dest, { recursive: true, force: true }); // a stale entry of an older store version
      renameSync(tmp, dest);
      return done(this.read(dest)!, progress);
    } catch (e) {
      await sibling?.dispose();
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * sha256 of a weights file, remembered by path, size and modification time: hashing an 800 MB checkpoint takes
   * seconds, and the CLI checks the cache on every run.
   */
  private async hashOf(path: string): Promise<string> {
    const st = statSync(path);
    const key = `${resolve(path)}|${st.size}|${st.mtimeMs}`;
    const file = join(this.root, '.hashes.json');
    let known: Record<string, string> = {};
    try {
      known = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // none yet, or damaged: start over
    }
    if (typeof known[key] === 'string') return known[key];
    const sha = await sha256File(path);
    known[key] = sha;
    mkdirSync(this.root, { recursive: true });
    writeFileSync(file, JSON.stringify(known));
    return sha;
  }

  private read(dir: string): ModelEntry | undefined {
    const path = join(dir, 'manifest.json');
    if (!existsSync(path)) return undefined;
    let manifest: ModelManifest;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
    } catch {
      return undefined; // damaged: treated as absent, so the next import converts again
    }
    if (manifest.version !== STORE_VERSION || !existsSync(join(dir, 'visual.onnx'))) return undefined;
    const has = (f: string) => (existsSync(join(dir, f)) ? join(dir, f) : undefined);
    return { dir, manifest, visualPath: join(dir, 'visual.onnx'), textPath: has('text.onnx'), vocabPath: has('vocab.txt') };
  }
}

const idOf = (sha256: string) => sha256.slice(0, 16);

function done(e: ModelEntry, progress: (s: string, f: number) => void): ModelEntry {
  progress('Model ready', 1);
  return e;
}

/** The weights file loadCheckpoint would pick, for the cache check (a miss only costs a full load). */
function weightsFileOf(pathOrDir: string): string | undefined {
  try {
    if (statSync(pathOrDir).isFile()) return pathOrDir;
    for (const n of ['model.safetensors', 'open_clip_model.safetensors', 'pytorch_model.bin', 'open_clip_pytorch_model.bin']) {
      if (existsSync(join(pathOrDir, n))) return join(pathOrDir, n);
    }
  } catch {
    // not there: loadCheckpoint reports it
  }
  return undefined;
}

/** A readable name: the file's stem, or its folder's name for the hub's generic "model.safetensors". */
export function nameOf(weights: string): string {
  const stem = basename(weights, extname(weights));
  return /^(model|open_clip_model|pytorch_model|open_clip_pytorch_model)$/.test(stem) ? basename(dirname(weights)) : stem;
}

/**
 * Head-CT windows a model was trained with, from `hlip_ct_windows` in its open_clip_config.json
 * ([{name, center, width}, ...] in HU): HLIP does not publish them, so a model folder may carry its own.
 */
function ctWindowsOf(ckpt: Checkpoint, warnings: string[]): CtWindow[] | undefined {
  const raw = ckpt.openClipConfig?.raw.hlip_ct_windows;
  if (raw === undefined) return undefined;
  const ok = Array.isArray(raw) && raw.length > 0 &&
    raw.every((w) => w && typeof w.name === 'string' && Number.isFinite(w.center) && Number.isFinite(w.width) && w.width > 0);
  if (ok) return raw.map((w) => ({ name: w.name, center: w.center, width: w.width }));
  warnings.push('hlip_ct_windows in the model config is not a list of {name, center, width > 0}: the default head-CT windows are used.');
  return undefined;
}

function isUntrained(ckpt: Checkpoint): boolean {
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

/** Per set: templates -> tokens -> text tower -> per-class mean embedding -> classes-<set>.bin. */
async function embedSets(engine: HlipEngine, dir: string, text: TextConfig, sets: Record<string, SetEntry>, opts: ImportOptions, progress: (f: number) => void) {
  const tok = WordPieceTokenizer.fromFile(join(dir, 'vocab.txt'));
  const all = Object.values(zeroShotSets()).map((set) => ({ set, groups: promptsFor(set) }));
  const total = all.reduce((n, s) => n + flattenPrompts(s.groups).texts.length, 0);
  const batch = opts.textBatch ?? 32;
  let doneTexts = 0;
  progress(0);
  for (const { set, groups } of all) {
    const { texts, textsPerClass } = flattenPrompts(groups);
    const emb = new Float32Array(texts.length * text.projDim);
    for (let i = 0; i < texts.length; i += batch) {
      const enc = trimPadding(tok.encodeBatch(texts.slice(i, i + batch), text.contextLength));
      const r = await engine.encodeText(enc, { signal: opts.signal });
      emb.set(r.embedding.data, i * text.projDim);
      doneTexts += enc.n;
      progress(doneTexts / total);
    }
    const classes = averageClassEmbeddings(emb, text.projDim, textsPerClass);
    const file = `classes-${set.id}.bin`;
    writeFileSync(join(dir, file), new Uint8Array(classes.buffer, classes.byteOffset, classes.byteLength));
    sets[set.id] = { classes: set.classnames, file, rows: groups.length, dim: text.projDim };
  }
}
