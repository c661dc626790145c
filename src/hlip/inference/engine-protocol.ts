/** Messages between HlipEngine (caller's thread) and the inference worker. Every request carries an id; the reply echoes it. */
import type { BatchEncoding } from '../text/tokenizer';
import type { SessionFallback } from './onnx-sessions';
import type { Precision } from '../graph/precision';

export interface LoadRequest {
  type: 'load';
  id: number;
  visualPath?: string;
  textPath?: string;
  providers: string[];
  intraOpThreads?: number;
  /** The user listed webgpu: use it even on a software adapter (onnx-sessions.ts). */
  softwareGpu?: boolean;
}

export interface EncodeImageRequest {
  type: 'encodeImage';
  id: number;
  /** [1, N, 1, D, H, W] input, transferred. */
  data: Float32Array;
  shape: number[];
}

/** Tokenised prompts (ids / mask: n x L int64, see text/tokenizer.ts). */
export interface EncodeTextRequest extends BatchEncoding {
  type: 'encodeText';
  id: number;
}

export interface DisposeRequest {
  type: 'dispose';
  id: number;
}

export type EngineRequest = LoadRequest | EncodeImageRequest | EncodeTextRequest | DisposeRequest;

/** A float32 output and its dims. */
export interface OutTensor {
  data: Float32Array;
  dims: number[];
}

export interface TowerInfo {
  provider: string;
  /** webgpu: the GPU adapter it runs on (gpu-adapter.ts), "(software)" when it is one. */
  adapter?: string;
  /** fp32 or a reduced precision (graph/precision.ts), from the loaded file. */
  precision?: Precision;
  fallback?: SessionFallback;
  inputs: string[];
  outputs: string[];
  loadMs: number;
}

export interface LoadResult {
  visual?: TowerInfo;
  text?: TowerInfo;
}

export interface ImageResult {
  /** [1, P, E], L2-normalised. */
  embedding: OutTensor;
  embeddingRaw: OutTensor;
  /** [1, heads, P + N*L]. */
  clsAttn: OutTensor;
  /** [N, d, h, w]: the same over the patches, mean over heads (absent in models built before it existed). */
  clsAttnMap?: OutTensor;
  /** [1, N*L, E], DINO.txt models only. */
  patchProj?: OutTensor;
  timings: { runMs: number };
  /** Set when the provider failed during this run and the tower moved to the next one (its fallback says why). */
  tower?: TowerInfo;
}

export interface TextResult {
  /** [n, E], L2-normalised. */
  embedding: OutTensor;
  embeddingRaw: OutTensor;
  timings: { runMs: number };
  /** As ImageResult.tower, for the text tower. */
  tower?: TowerInfo;
}

export type ResultOf<R extends EngineRequest> = R extends LoadRequest ? LoadResult
  : R extends EncodeImageRequest ? ImageResult
  : R extends EncodeTextRequest ? TextResult
  : null;

export interface WireError {
  code: string;
  message: string;
}

export type EngineReply =
  | { type: 'result'; id: number; result: LoadResult | ImageResult | TextResult | null }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'progress'; id: number; stage: string; fraction: number };
