/** Multi-head self-attention as ONNX nodes: fused (com.microsoft.MultiHeadAttention) or explicit MatMul/Softmax. */
import { DataType } from './onnx-proto';
import { GraphBuilder, MS_DOMAIN } from './builder';

export type AttentionImpl = 'fused' | 'explicit';

export interface AttentionArgs {
  /** q [B, Tq, C] (Tq may be shorter than T: only those queries), k and v [B, T, C]. */
  q: string;
  k: string;
  v: string;
  heads: number;
  dim: number;
  /** Optional key padding mask [B, T] int64 (1 = attend, 0 = padding). */
  keyMask?: string;
}

/** [B, T, C] -> [B, heads, T, hd] (or [B, heads, hd, T] with keyT). */
function splitHeads(g: GraphBuilder, x: string, heads: number, hd: number, keyT = false): string {
  return g.transpose(g.reshape(x, [0, 0, heads, hd]), keyT ? [0, 2, 3, 1] : [0, 2, 1, 3]);
}

/** Returns the attention output [B, T, C] before the output projection. */
export function selfAttention(g: GraphBuilder, impl: AttentionImpl, a: AttentionArgs): string {
  const hd = a.dim / a.heads;
  if (impl === 'fused') {
    // The fused kernel never materialises heads x T x T scores: this is what keeps an 8-scan study under 2 GB.
    const inputs = [a.q, a.k, a.v];
    if (a.keyMask) inputs.push('', g.op('Cast', [a.keyMask], { to: DataType.INT32 }));
    return g.op('MultiHeadAttention', inputs, { num_heads: a.heads }, { domain: MS_DOMAIN });
  }
  const q = g.op('Mul', [splitHeads(g, a.q, a.heads, hd), g.scalar(1 / Math.sqrt(hd))]);
  let s = g.op('MatMul', [q, splitHeads(g, a.k, a.heads, hd, true)]);
  if (a.keyMask) {
    // HF BERT's additive mask: (1 - mask) * finfo(float32).min, broadcast over heads and queries.
    const m = g.op('Cast', [g.reshape(a.keyMask, [0, 1, 1, -1])], { to: DataType.FLOAT });
    s = g.op('Add', [s, g.op('Mul', [g.op('Sub', [g.scalar(1), m]), g.scalar(-3.4028234663852886e38)])]);
  }
  const p = g.op('Softmax', [s], { axis: -1 });
  const o = g.op('MatMul', [p, splitHeads(g, a.v, a.heads, hd)]);
  return g.reshape(g.transpose(o, [0, 2, 1, 3]), [0, 0, a.dim]);
}

/**
 * softmax(q_0 . K^T / sqrt(hd)) for the first query of every window: [B, heads, T].
 * One query row only, so it costs O(T) memory even where the full attention would be T x T.
 */
export function firstQueryAttention(g: GraphBuilder, q: string, k: string, heads: number, dim: number): string {
  const hd = dim / heads;
  const q0 = splitHeads(g, g.slice(q, 1, 0, 1), heads, hd); // [B, heads, 1, hd]
  const s = g.op('MatMul', [g.op('Mul', [q0, g.scalar(1 / Math.sqrt(hd))]), splitHeads(g, k, heads, hd, true)]);
  return g.reshape(g.op('Softmax', [s], { axis: -1 }), [0, heads, -1]);
}
