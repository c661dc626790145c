/**
 * Many prompts through the text tower in bounded batches, each cut to its longest prompt (trimPadding: the same
 * embeddings as the full context at a fraction of the cost). The one batching path for class prompts at conversion,
 * `hlip embed-text`, and the user's saved prompts.
 */
import type { HlipEngine } from '../inference/engine';
import { type BatchEncoding, type WordPieceTokenizer, trimPadding } from './tokenizer';

export interface EncodedTexts {
  /** Token ids and mask at the full context length (what `hlip embed-text` writes). */
  encoding: BatchEncoding;
  /** [n, E] L2-normalised, and before normalisation. */
  embedding: Float32Array;
  embeddingRaw: Float32Array;
  dim: number;
}

export interface EncodeTextsOptions {
  /** Prompts per text-tower call (bounds the attention memory). */
  batch?: number;
  signal?: AbortSignal;
  onBatch?: (done: number, total: number) => void;
}

export async function encodeTexts(engine: HlipEngine, tokenizer: WordPieceTokenizer, texts: readonly string[], contextLength: number, opts: EncodeTextsOptions = {}): Promise<EncodedTexts> {
  const batch = opts.batch ?? 32;
  const encoding = tokenizer.encodeBatch(texts, contextLength);
  const { n, L } = encoding;
  let embedding = new Float32Array(0);
  let embeddingRaw = new Float32Array(0);
  let dim = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const part: BatchEncoding = { ids: encoding.ids.slice(i * L, (i + m) * L), mask: encoding.mask.slice(i * L, (i + m) * L), n: m, L };
    const r = await engine.encodeText(trimPadding(part), { signal: opts.signal });
    if (!dim) {
      dim = r.embedding.data.length / m;
      embedding = new Float32Array(n * dim);
      embeddingRaw = new Float32Array(n * dim);
    }
    embedding.set(r.embedding.data, i * dim);
    embeddingRaw.set(r.embeddingRaw.data, i * dim);
    opts.onBatch?.(i + m, n);
  }
  return { encoding, embedding, embeddingRaw, dim };
}
