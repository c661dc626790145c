/**
 * What an evaluation needs of a checkpoint, and nothing more: its image tower as ONNX and the class embeddings of ONE
 * zero-shot set. Both are cached under the evaluation cache, keyed by content:
 *   visual/<visual weights hash>/visual.onnx            shared by every checkpoint with the same image tower;
 *   text/<text weights hash>/text.onnx                  built only when a set's class embeddings are missing;
 *   classes/<text hash>-<set>-<prompts+vocab hash>.bin  epochs whose text tower is frozen share it;
 *   checkpoints/<file sha256>.json                       the hashes and configs of a checkpoint file, so a warm run
 *                                                        never parses it (file hashes are remembered by path, size, mtime).
 * Every file is written to a temporary name and renamed: a killed run leaves no half file behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Checkpoint, detectModelSpec, loadCheckpoint, sha256File } from '../hlip/checkpoint';
import type { HostTensor } from '../hlip/checkpoint/tensor';
import { promptsFor, zeroShotSet } from '../hlip/classify/zero-shot';
import { ctWindowsOf, embedSetClasses, isUntrained } from '../hlip/convert/model-converter';
import { buildDemoVocab } from '../hlip/demo/demo-vocab';
import { buildTextOnnx, buildVisualOnnx } from '../hlip/graph';
import type { HlipEngine } from '../hlip/inference/engine';
import type { TextConfig, VisualConfig } from '../hlip/model-config';
import type { CtWindow } from '../hlip/preprocess/study-input';
import { WordPieceTokenizer } from '../hlip/text/tokenizer';
import { EvalError } from './errors';
import type { EvalSetId } from './metrics/set-metrics';

/** Bump when the cached files change meaning. */
const MODEL_CACHE_VERSION = 1;

interface CheckpointRecord {
  version: number;
  sha256: string;
  visualHash: string;
  textHash?: string;
  visual: VisualConfig;
  text?: TextConfig;
  logitScale?: number;
  untrained: boolean;
  /** sha256 of the vocabulary the prompts are tokenised with (the checkpoint's vocab.txt, or the demo one). */
  vocabHash?: string;
  ctWindows?: CtWindow[];
  warnings: string[];
}

export interface EvalModel {
  path: string;
  record: CheckpointRecord;
  visualOnnx: string;
  /** [groups x E] class embeddings of the set (pairs: negative, positive per class). */
  classEmbeddings: Float32Array;
  /** Steps that had to run (empty on a warm run): 'visual', 'text'. */
  built: string[];
}

export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** sha256 of a file, remembered by path, size and modification time in <cache>/file-hashes/. */
export async function rememberedSha256(cache: string, path: string): Promise<string> {
  const st = statSync(path);
  const key = createHash('sha256').update(`${resolve(path)}|${st.size}|${st.mtimeMs}`).digest('hex');
  const memo = join(cache, 'file-hashes', key.slice(0, 2), key);
  try {
    const v = readFileSync(memo, 'utf8');
    if (/^[0-9a-f]{64}$/.test(v)) return v;
  } catch {
    // not remembered yet
  }
  const sha = await sha256File(path);
  writeAtomic(memo, sha);
  return sha;
}

/** sha256 over the named tensors (sorted by name: name, dtype, shape, bytes). */
function tensorsHash(tensors: Map<string, HostTensor>, prefix: string): string | undefined {
  const names = [...tensors.keys()].filter((k) => k.startsWith(prefix)).sort();
  if (!names.length) return undefined;
  const h = createHash('sha256');
  for (const k of names) {
    const t = tensors.get(k)!;
    h.update(`${k}\0${t.dtype}\0${t.shape.join(',')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}


const readVocab = (path: string) => readFileSync(path, 'utf8').split(/\r?\n/).filter((l, i, a) => l !== '' || i < a.length - 1);
const vocabHash = (tokens: string[]) => createHash('sha256').update(tokens.join('\n')).digest('hex');

function vocabulary(c: Checkpoint, given: string | undefined, untrained: boolean): string[] | undefined {
  const path = given ?? c.vocabPath;
  if (path) return readVocab(path);
  return untrained ? buildDemoVocab() : undefined;
}

/** The weights file of a checkpoint path (a model folder's hub-named file without parsing it). */
async function weightsFile(path: string): Promise<string> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new EvalError('BAD_OPTION', `No checkpoint at ${path}.`);
  }
  if (!st.isDirectory()) return path;
  for (const n of ['model.safetensors', 'open_clip_model.safetensors', 'pytorch_model.bin', 'open_clip_pytorch_model.bin']) if (existsSync(join(path, n))) return join(path, n);
  return (await loadCheckpoint(path)).path;
}

const promptsHash = (set: EvalSetId, vocabHash: string) => createHash('sha256').update(JSON.stringify(promptsFor(zeroShotSet(set)))).update(vocabHash).digest('hex').slice(0, 16);

/**
 * The evaluation side of a checkpoint: from the cache when everything is there, else the checkpoint is read once and
 * only the missing pieces are built (the image tower; the text tower and the set's prompts when the class embeddings
 * of this text tower are missing).
 */
export async function prepareEvalModel(cache: string, path: string, set: EvalSetId, engine: () => Promise<HlipEngine>, opts: { vocab?: string; log?: (s: string) => void } = {}): Promise<EvalModel> {
  const log = opts.log ?? (() => {});
  const sha = await rememberedSha256(cache, await weightsFile(path));
  const recordPath = join(cache, 'checkpoints', `${sha}.json`);
  let record: CheckpointRecord | undefined;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as CheckpointRecord;
    // A given vocabulary other than the one recorded: read the checkpoint again for the text side.
    if (record.version !== MODEL_CACHE_VERSION || (opts.vocab && record.textHash && record.vocabHash !== vocabHash(readVocab(opts.vocab)))) record = undefined;
  } catch {
    record = undefined;
  }
  let ckpt: Checkpoint | undefined;
  let vocab: string[] | undefined;
  const built: string[] = [];
  const readCheckpoint = async () => {
    if (ckpt) return ckpt;
    log(`reading ${path}`);
    ckpt = await loadCheckpoint(path);
    const spec = detectModelSpec(ckpt);
    if (!spec.visual) throw new EvalError('BAD_OPTION', `${path} has no HLIP image tower, so it cannot be evaluated.`);
    const untrained = isUntrained(ckpt);
    vocab = spec.text ? vocabulary(ckpt, opts.vocab, untrained) : undefined;
    const warnings = [...spec.warnings, ...ckpt.warnings];
    record = {
      version: MODEL_CACHE_VERSION,
      sha256: ckpt.sha256,
      visualHash: tensorsHash(ckpt.tensors, 'visual.')!,
      textHash: spec.text ? tensorsHash(ckpt.tensors, 'text.') : undefined,
      visual: spec.visual,
      text: spec.text,
      logitScale: spec.logitScale,
      untrained,
      vocabHash: vocab ? vocabHash(vocab) : undefined,
      ctWindows: ctWindowsOf(ckpt, warnings),
      warnings,
    };
    writeAtomic(join(cache, 'checkpoints', `${ckpt.sha256}.json`), JSON.stringify(record, null, 1));
    return ckpt;
  };
  if (!record) await readCheckpoint();
  let r = record!;

  const visualOnnx = join(cache, 'visual', r.visualHash.slice(0, 32), 'visual.onnx');
  if (!existsSync(visualOnnx)) {
    const c = await readCheckpoint();
    r = record!;
    log(`building the image tower (ONNX)`);
    const tmp = `${visualOnnx}.${process.pid}.tmp`;
    mkdirSync(dirname(visualOnnx), { recursive: true });
    try {
      buildVisualOnnx(c.tensors, r.visual, tmp);
      renameSync(tmp, visualOnnx);
    } finally {
      rmSync(tmp, { force: true });
    }
    built.push('visual');
  }

  if (!r.text || !r.textHash || !r.vocabHash) {
    throw new EvalError('BAD_OPTION', `${path} cannot be scored zero-shot: ${r.text ? 'no vocab.txt beside it (give --vocab)' : 'it has no text tower'}.`);
  }
  const classesPath = join(cache, 'classes', `${r.textHash.slice(0, 32)}-${set}-${promptsHash(set, r.vocabHash)}.bin`);
  if (!existsSync(classesPath)) {
    const c = await readCheckpoint();
    r = record!;
    if (!vocab) throw new EvalError('BAD_OPTION', `${path} has no vocab.txt beside it: give --vocab so prompts can be tokenised.`);
    const textOnnx = join(cache, 'text', r.textHash!.slice(0, 32), 'text.onnx');
    if (!existsSync(textOnnx)) {
      log('building the text tower (ONNX)');
      const tmp = `${textOnnx}.${process.pid}.tmp`;
      mkdirSync(dirname(textOnnx), { recursive: true });
      try {
        buildTextOnnx(c.tensors, r.text!, tmp);
        renameSync(tmp, textOnnx);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    log(`embedding the ${set} prompts`);
    const e = await engine();
    await e.load({ textPath: textOnnx });
    const classes = await embedSetClasses(e, new WordPieceTokenizer(vocab), r.text!, zeroShotSet(set));
    writeAtomic(classesPath, new Uint8Array(classes.buffer, classes.byteOffset, classes.byteLength));
    built.push('text');
  }
  const b = readFileSync(classesPath);
  const classEmbeddings = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return { path, record: r, visualOnnx, classEmbeddings, built };
}
