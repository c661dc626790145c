/**
 * Free-text prompts against a classified study: one prompt typed in the viewer, and the user's saved prompts as a
 * ranked set of their own. Tokenised as HLIP does, through the same batched text path as the class prompts.
 */
import { CodedError } from '../../shared/coded-error';
import type { HlipEngine } from '../inference/engine';
import { encodeTexts } from '../text/encode-texts';
import type { PromptScore, ScoreSet } from './results';
import type { Classification, LoadedModel } from './study-classifier';

export const CUSTOM_SET = 'custom';

/** Text embeddings [n, E] of prompts, L2-normalised, with the first prompt's word pieces. */
async function embedPrompts(model: LoadedModel, engine: HlipEngine, texts: string[]) {
  if (!model.tokenizer || !model.entry.manifest.text) throw new CodedError('NO_TEXT_TOWER', 'This model has no text tower (or no vocab.txt to tokenise with), so prompts cannot be scored.');
  return encodeTexts(engine, model.tokenizer, texts, model.entry.manifest.text.contextLength);
}

/** The text embedding of one prompt, L2-normalised, plus its word pieces. */
export async function embedPrompt(model: LoadedModel, engine: HlipEngine, text: string): Promise<{ embedding: Float32Array; pieces: string[]; truncated: boolean }> {
  const { embedding } = await embedPrompts(model, engine, [text]);
  const enc = model.tokenizer!.encode(text, model.entry.manifest.text!.contextLength);
  return { embedding, pieces: enc.pieces, truncated: enc.truncated };
}

const dot = (a: Float32Array, b: Float32Array, offset = 0) => {
  let s = 0;
  for (let k = 0; k < b.length; k++) s += a[offset + k] * b[k];
  return s;
};

export async function scorePrompt(c: Classification, model: LoadedModel, engine: HlipEngine, text: string): Promise<PromptScore> {
  const p = await embedPrompt(model, engine, text);
  return { text, pieces: p.pieces, score: dot(p.embedding, c.embedding), truncated: p.truncated };
}

/**
 * The user's saved prompts as a set of their own, scored like the diagnoses (raw cosine) so they rank side by side.
 * Returns undefined when there are none or the model has no text tower.
 */
export async function scoreCustomSet(c: Classification, model: LoadedModel, engine: HlipEngine, prompts: string[]): Promise<ScoreSet | undefined> {
  if (!prompts.length || !model.tokenizer || !model.entry.manifest.text) return undefined;
  const { embedding } = await embedPrompts(model, engine, prompts);
  const E = c.embedding.length;
  const rows = prompts.map((text, i) => ({ className: text, prompt: text, score: dot(embedding, c.embedding, i * E) }));
  return { name: CUSTOM_SET, title: 'My prompts', kind: 'cosine', rows: rows.sort((a, b) => b.score - a.score) };
}
