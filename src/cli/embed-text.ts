/**
 * `hlip embed-text --model <ckpt> (--prompts file | --classes set) --out <dir>`: HLIP's text side as .npy files:
 * token ids and mask exactly as fed to the text tower, the text embeddings, and for a zero-shot set the per-class
 * averages classify scores against. Works with a full checkpoint or one holding only the text tower (`text.*`).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../hlip/checkpoint';
import { type PromptGroup, averageClassEmbeddings, flattenPrompts, promptsFor, zeroShotSets } from '../hlip/classify/zero-shot';
import { convertModel, convertTextOnly } from '../hlip/convert/model-converter';
import { writeNpy } from '../hlip/export/npy';
import type { HlipEngine } from '../hlip/inference/engine';
import type { TextConfig } from '../hlip/model-config';
import { ModelCatalogue } from '../hlip/models/model-catalogue';
import { encodeTexts } from '../hlip/text/encode-texts';
import { WordPieceTokenizer } from '../hlip/text/tokenizer';
import { startCliEngine } from './model-runtime';
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

/** The converted text tower: from the catalogue (checkpoints with an image tower), else converted on its own (text-only). */
async function textTower(o: CliOptions, vocabPath: string, engine: HlipEngine, log: (s: string) => void): Promise<TextTower> {
  const catalogue = new ModelCatalogue(o.cache);
  try {
    const entry = await convertModel(catalogue, o.model!, { engine, vocabPath, onProgress: (stage: string) => log(stage) });
    const m = entry.manifest;
    if (!entry.textPath || !m.text) throw new EmbedTextError('NO_TEXT_TOWER', `${o.model} has no text tower (no text.* weights): embed-text needs one.`);
    return { textPath: entry.textPath, text: m.text, model: { id: m.id, name: m.name, source: m.source, sha256: m.sha256, untrained: !!m.untrained, textOnly: false } };
  } catch (e) {
    if (!(e instanceof CheckpointError && e.code === 'NO_VISUAL_TOWER')) throw e;
  }
  // The catalogue only keeps models with an image tower; a text-only checkpoint is converted on its own.
  log('Building the text encoder (ONNX)');
  const t = await convertTextOnly(catalogue, o.model!);
  return { textPath: t.textPath, text: t.text, model: { id: t.id, name: t.name, source: t.source, sha256: t.sha256, untrained: t.untrained, textOnly: true } };
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
  const engine = await startCliEngine(o);
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
    const t0 = performance.now();
    const { encoding: enc, embedding: emb, embeddingRaw: raw } = await encodeTexts(engine, tok, texts, L, { onBatch: (d) => log(`Embedded ${d} / ${n} prompt(s)`) });
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
