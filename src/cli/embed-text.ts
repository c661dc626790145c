/**
 * `hlip embed-text --model <ckpt> (--prompts file | --classes set) --out <dir>`: HLIP's text side as .npy files:
 * token ids and mask exactly as fed to the text tower, the text embeddings, and for a zero-shot set the per-class
 * averages classify scores against. Works with a full checkpoint or one holding only the text tower (`text.*`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { CheckpointError, detectModelSpec, loadCheckpoint } from '../hlip/checkpoint';
import type { TextConfig } from '../hlip/model-config';
import { HlipEngine } from '../hlip/inference/engine';
import { buildTextOnnx } from '../hlip/graph';
import { ModelStore, nameOf } from '../hlip/models/model-store';
import { writeNpy } from '../hlip/export/npy';
import { resolveProviders } from '../hlip/inference/onnx-sessions';
import { WordPieceTokenizer, trimPadding } from '../hlip/text/tokenizer';
import { type PromptGroup, averageClassEmbeddings, flattenPrompts, promptsFor, zeroShotSets } from '../hlip/classify/zero-shot';
import { hlipWorkerScript } from './model-runtime';
import { type CliOptions, UsageError } from './options';
import { CodedError } from '../shared/coded-error';

/** A user-input problem: main prints the sentence and its code, not a stack, and exits 1. */
export class EmbedTextError extends CodedError {
  override readonly name = 'EmbedTextError';
}

/** A text tower ready to load: converted ONNX plus what meta.json reports about it. */
interface TextTower {
  textPath: string;
  text: TextConfig;
  model: { id: string; name: string; source: string; sha256: string; untrained: boolean; textOnly: boolean };
}

/**
 * vocab.txt: --vocab, else the one beside the checkpoint. Never the demo vocabulary: ids from another vocabulary give
 * embeddings that look fine and mean nothing.
 */
export function resolveVocab(model: string, given?: string): string {
  if (given) {
    if (!existsSync(given)) throw new EmbedTextError('NOT_FOUND', `--vocab ${given}: no such file`);
    return given;
  }
  let dir = model;
  try {
    if (!statSync(model).isDirectory()) dir = dirname(model);
  } catch {
    throw new EmbedTextError('NOT_FOUND', `--model ${model}: no checkpoint file or folder at this path`);
  }
  const beside = join(dir, 'vocab.txt');
  if (existsSync(beside)) return beside;
  throw new EmbedTextError(
    'NO_VOCAB',
    `no vocab.txt beside ${model}: pass --vocab <the model's vocab.txt> (BiomedBERT's WordPiece vocabulary for HLIP). Without the model's own vocabulary the token ids, and so the embeddings, would be meaningless.`,
  );
}

/** The converted text tower: from the model store (checkpoints with an image tower), else converted here (text-only). */
async function textTower(o: CliOptions, vocabPath: string, engine: HlipEngine, log: (s: string) => void): Promise<TextTower> {
  const store = new ModelStore(o.cache);
  try {
    const entry = await store.importModel(o.model!, { engine, vocabPath, onProgress: (stage: string) => log(stage) });
    const m = entry.manifest;
    if (!entry.textPath || !m.text) throw new EmbedTextError('NO_TEXT_TOWER', `${o.model} has no text tower (no text.* weights): embed-text needs one.`);
    return { textPath: entry.textPath, text: m.text, model: { id: m.id, name: m.name, source: m.source, sha256: m.sha256, untrained: !!m.untrained, textOnly: false } };
  } catch (e) {
    if (!(e instanceof CheckpointError && e.code === 'NO_VISUAL_TOWER')) throw e;
  }
  // The store only keeps models with an image tower; a text-only checkpoint is converted (and cached) here instead
  // (read a second time: the store does not hand back what it loaded).
  const ckpt = await loadCheckpoint(o.model!);
  const spec = detectModelSpec(ckpt);
  if (!spec.text) throw new EmbedTextError('NO_TEXT_TOWER', `${o.model} has no text tower (no text.* weights): embed-text needs one.`);
  const id = ckpt.sha256.slice(0, 16);
  const dir = join(resolve(o.cache), `text-${id}`);
  const textPath = join(dir, 'text.onnx');
  const untrained = ckpt.metadata.hlip_untrained === 'true';
  const model = { id, name: nameOf(ckpt.path), source: ckpt.path, sha256: ckpt.sha256, untrained, textOnly: true };
  if (existsSync(join(dir, 'text.json'))) return { textPath, text: JSON.parse(readFileSync(join(dir, 'text.json'), 'utf8')) as TextConfig, model };
  log('Building the text encoder (ONNX)');
  mkdirSync(resolve(o.cache), { recursive: true });
  // Built beside and renamed into place: a failed conversion leaves nothing that looks cached.
  const tmp = join(resolve(o.cache), `.tmp-text-${id}-${randomBytes(4).toString('hex')}`);
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
  return { textPath, text: spec.text, model };
}

/** Prompts file: one prompt a line (\n or \r\n); blank lines are skipped. */
export function readPrompts(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new EmbedTextError('NOT_FOUND', `--prompts ${path}: ${(e as Error).message}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!lines.length) throw new EmbedTextError('NO_PROMPTS', `--prompts ${path}: no prompt in the file (one a line)`);
  return lines;
}

export async function embedTextCommand(o: CliOptions, out: (s: string) => void): Promise<number> {
  if (!o.model) throw new UsageError('embed-text: --model <checkpoint file or model folder> is required');
  if (!o.outDir) throw new UsageError('embed-text: --out <dir> is required');
  if (!o.prompts === !o.classes) throw new UsageError('embed-text: give either --prompts <file> or --classes <set>');
  const sets = zeroShotSets();
  if (o.classes && !Object.hasOwn(sets, o.classes)) throw new UsageError(`embed-text: unknown set "${o.classes}" (known: ${Object.keys(sets).join(', ')})`);
  // Inputs first: a bad prompts file or a missing vocabulary fails before the (slow) model conversion.
  const groups: PromptGroup[] | undefined = o.classes ? promptsFor(sets[o.classes]) : undefined;
  const { texts, textsPerClass } = groups ? flattenPrompts(groups) : { texts: readPrompts(o.prompts!), textsPerClass: [] };
  const vocabPath = resolveVocab(o.model, o.vocab);
  const tok = WordPieceTokenizer.fromFile(vocabPath);

  const log = (s: string) => o.quiet || process.stderr.write(`${s}\n`);
  const engine = await HlipEngine.start({ workerScript: hlipWorkerScript(), providers: resolveProviders(o.ep) });
  try {
    const tower = await textTower(o, vocabPath, engine, log);
    const { text } = tower;
    if (tok.size > text.vocabSize) throw new EmbedTextError('VOCAB_MISMATCH', `${vocabPath} has ${tok.size} tokens but the text tower's embedding table only ${text.vocabSize}: it belongs to another model`);
    await engine.load({ textPath: tower.textPath });
    const info = engine.info.text;
    if (info?.fallback) process.stderr.write(`hlip: execution provider fallback: ${info.fallback.reason}\n`);
    if (tower.model.untrained) log('hlip: this model has UNTRAINED (random) weights: its embeddings are meaningless.');

    const L = text.contextLength;
    const E = text.projDim;
    const n = texts.length;
    const enc = tok.encodeBatch(texts, L);
    const emb = new Float32Array(n * E);
    const raw = new Float32Array(n * E);
    const t0 = performance.now();
    const batch = 32; // bounds the attention memory of a large set
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      // Cut to the batch's longest prompt: the same embeddings as the full context, at a fraction of the cost.
      const r = await engine.encodeText(trimPadding({ ids: enc.ids.slice(i * L, (i + m) * L), mask: enc.mask.slice(i * L, (i + m) * L), n: m, L }));
      emb.set(r.embedding.data, i * E);
      raw.set(r.embeddingRaw.data, i * E);
      log(`Embedded ${i + m} / ${n} prompt(s)`);
    }
    const inferenceMs = performance.now() - t0;

    const dir = o.outDir;
    mkdirSync(dir, { recursive: true });
    const files: Record<string, { shape: number[]; meaning: string }> = {};
    const put = (name: string, data: Float32Array | BigInt64Array, shape: number[], meaning: string) => {
      writeNpy(join(dir, name), data, shape);
      files[name] = { shape, meaning };
    };
    put('token_ids.npy', enc.ids, [n, L], 'int64 WordPiece ids: [CLS] pieces [SEP], [PAD]-padded / truncated to the context length');
    put('attention_mask.npy', enc.mask, [n, L], 'int64: 1 where token_ids is not [PAD]');
    put('text_embedding.npy', emb, [n, E], 'text embedding per prompt, L2-normalised');
    put('text_embedding_raw.npy', raw, [n, E], 'text embedding per prompt before L2 normalisation');
    if (groups) {
      put('class_embeddings.npy', averageClassEmbeddings(emb, E, textsPerClass), [groups.length, E], 'per row of classes.json: mean of its texts\' normalised embeddings, renormalised (open_clip zero-shot classifier)');
      let first = 0;
      const rows = groups.map((g) => {
        const row = { className: g.className, classIndex: g.classIndex, prompt: g.prompt, ...(g.polarity ? { polarity: g.polarity } : {}), firstText: first, texts: g.texts };
        first += g.texts.length;
        return row;
      });
      writeFileSync(join(dir, 'classes.json'), `${JSON.stringify({ set: o.classes, kind: sets[o.classes!].kind, classes: rows }, null, 1)}\n`);
    }
    const truncated = texts.map((t, i) => (tok.encode(t, L).truncated ? i : -1)).filter((i) => i >= 0);
    const meta = {
      command: 'hlip embed-text',
      model: tower.model,
      text,
      vocab: resolve(vocabPath),
      provider: info?.provider ?? 'cpu',
      fallback: info?.fallback?.reason ?? null,
      prompts: o.prompts ? resolve(o.prompts) : null,
      set: o.classes ?? null,
      texts,
      truncated,
      timings: { inferenceMs },
      files,
    };
    writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
    if (o.json) out(JSON.stringify(meta, null, 1));
    else {
      out(`model     ${tower.model.name}${tower.model.textOnly ? ' (text tower only)' : ''}`);
      out(`provider  ${meta.provider}${meta.fallback ? `  [fallback: ${meta.fallback}]` : ''}`);
      out(`prompts   ${n}${groups ? ` (${o.classes}: ${groups.length} class rows)` : ''}, embedding ${E}`);
      if (truncated.length) out(`warning   ${truncated.length} prompt(s) cut to ${L} tokens (rows ${truncated.slice(0, 10).join(', ')}${truncated.length > 10 ? ', ...' : ''})`);
      for (const [name, f] of Object.entries(files)) out(`wrote     ${join(dir, name)}  [${f.shape.join(', ')}]`);
      if (groups) out(`wrote     ${join(dir, 'classes.json')}`);
      out(`wrote     ${join(dir, 'meta.json')}`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
