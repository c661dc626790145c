/**
 * The converted-model cache as a catalogue: what is converted under <root>/<sha256 prefix>/ (manifest.json, visual.onnx,
 * text.onnx, vocab.txt, class embeddings per zero-shot set), lookup by id or by checkpoint path, delete. Light on
 * purpose: the extension host loads it; converting (src/hlip/convert/) runs in a child process.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Checkpoint } from '../checkpoint/types';
import type { TextConfig, VisualConfig } from '../model-config';
import type { CtWindow } from '../preprocess/study-input';
import { type Precision, precisionFile } from '../graph/precision';
import { sha256File } from '../../shared/file-hash';

/** Bump when the files or the manifest change meaning: older entries are converted again. */
export const CATALOGUE_VERSION = 3; // 2: visual.onnx has the cls_attn_map(s) outputs; 3: token pooling prunes the last block (faster)

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

export class ModelCatalogue {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async list(): Promise<ModelEntry[]> {
    if (!existsSync(this.root)) return [];
    const out: ModelEntry[] = [];
    for (const name of readdirSync(this.root).sort()) {
      if (name.startsWith('.')) continue;
      const e = this.entryAt(join(this.root, name));
      if (e) out.push(e);
    }
    return out.sort((a, b) => b.manifest.created.localeCompare(a.manifest.created));
  }

  async get(id: string): Promise<ModelEntry | undefined> {
    return /^[0-9a-f]{8,64}$/.test(id) ? this.entryAt(join(this.root, id)) : undefined;
  }

  /**
   * Models converted by an earlier version (their manifest's version is not CATALOGUE_VERSION), newest first: `get` and
   * `list` leave them out, and converting their `source` again brings them back under the same id.
   */
  outdated(): { id: string; name: string; source: string }[] {
    if (!existsSync(this.root)) return [];
    const out: { id: string; name: string; source: string; created: string }[] = [];
    for (const id of readdirSync(this.root)) {
      try {
        const m = JSON.parse(readFileSync(join(this.root, id, 'manifest.json'), 'utf8')) as Partial<ModelManifest>;
        if (m.version !== CATALOGUE_VERSION && typeof m.source === 'string' && typeof m.name === 'string') {
          out.push({ id, name: m.name, source: m.source, created: String(m.created ?? '') });
        }
      } catch {
        // not a model folder, or damaged: nothing to convert again
      }
    }
    return out.sort((a, b) => b.created.localeCompare(a.created)).map(({ created: _, ...o }) => o);
  }

  /** The entry converted from this checkpoint file or folder, if any (hashes the weights file; remembered). */
  async lookup(pathOrDir: string): Promise<ModelEntry | undefined> {
    const weights = weightsFileOf(pathOrDir);
    return weights ? this.entryAt(join(this.root, idOf(await this.hashOf(weights)))) : undefined;
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

  /**
   * sha256 of a weights file, remembered by path, size and modification time: hashing an 800 MB checkpoint takes
   * seconds, and the CLI checks the cache on every run.
   */
  async hashOf(path: string): Promise<string> {
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

  /** The entry in a folder of the catalogue; undefined when absent, damaged or of an older version. */
  entryAt(dir: string): ModelEntry | undefined {
    const path = join(dir, 'manifest.json');
    if (!existsSync(path)) return undefined;
    let manifest: ModelManifest;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
    } catch {
      return undefined; // damaged: treated as absent, so the next import converts again
    }
    if (manifest.version !== CATALOGUE_VERSION || !existsSync(join(dir, 'visual.onnx'))) return undefined;
    const has = (f: string) => (existsSync(join(dir, f)) ? join(dir, f) : undefined);
    return { dir, manifest, visualPath: join(dir, 'visual.onnx'), textPath: has('text.onnx'), vocabPath: has('vocab.txt') };
  }
}

/**
 * An entry's towers at a precision: the fp32 files, or the reduced-precision ones the converter builds beside them
 * (visual.int8.onnx ...); undefined when those are not built yet.
 */
export function towersAt(entry: ModelEntry, precision: Precision): { visualPath: string; textPath?: string } | undefined {
  if (precision === 'fp32') return { visualPath: entry.visualPath, textPath: entry.textPath };
  const visualPath = precisionFile(entry.visualPath, precision);
  const textPath = entry.textPath && precisionFile(entry.textPath, precision);
  if (!existsSync(visualPath) || (textPath && !existsSync(textPath))) return undefined;
  return { visualPath, textPath };
}

/** Reduced-precision image embeddings closer to fp32 than this count as faithful (test/unit/precision.test.ts). */
export const PRECISION_MIN_COSINE = 0.999;

/** What convert/precision-check.ts measured when an entry's reduced-precision towers were built. */
export interface PrecisionCheck {
  precision: Precision;
  /** Cosine between the fp32 and reduced-precision image embeddings of the probe. */
  cosine: number;
  bound: number;
  probe: string;
}

export const precisionCheckFile = (entry: ModelEntry, precision: Precision) => join(entry.dir, `visual.${precision}.check.json`);

/** A sentence when the entry's `precision` towers measured below the bound (or were never measured); else undefined. */
export function precisionWarning(entry: ModelEntry, precision: Precision): string | undefined {
  if (precision === 'fp32') return undefined;
  let c: PrecisionCheck;
  try {
    c = JSON.parse(readFileSync(precisionCheckFile(entry, precision), 'utf8')) as PrecisionCheck;
  } catch {
    return `The ${precision} image encoder of ${entry.manifest.name} was not checked against fp32; scores may differ from fp32.`;
  }
  return c.cosine < PRECISION_MIN_COSINE
    ? `The ${precision} image encoder of ${entry.manifest.name} measured cosine ${c.cosine.toFixed(4)} against fp32 (below ${PRECISION_MIN_COSINE}): scores may differ noticeably; fp32 is exact.`
    : undefined;
}

/** Catalogue folder name of a checkpoint: its weights' sha256 prefix. */
export const idOf = (sha256: string) => sha256.slice(0, 16);

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
