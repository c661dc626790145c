/**
 * State dicts with HLIP's key names and shapes and seeded random weights: the demo model, benchmarks and tests build
 * real checkpoints from these (no framework needed). Names follow docs/hlip-model.md.
 */
import type { TensorMap } from '../checkpoint/tensor';

export type Vec3 = [number, number, number];

export interface RandomVisual {
  dim: number;
  depth: number;
  patch: Vec3;
  /** Patch grid of one scan [d, h, w]. */
  grid: Vec3;
  pool: 'token' | 'dinotxt';
  embed: number;
  regTokens?: number;
  /** Add a [1, 40, C] per-scan sequence embedding. */
  sequence?: boolean;
}

export interface RandomText {
  vocab: number;
  hidden: number;
  layers: number;
  intermediate: number;
  positions: number;
  embed: number;
}

/** Deterministic normal samples (mulberry32 + Box-Muller): the same checkpoint on every machine. */
export function normalRng(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function randomCheckpoint(spec: { visual?: RandomVisual; text?: RandomText }, seed: number): TensorMap {
  const normal = normalRng(seed);
  const tensors: TensorMap = new Map();
  const put = (name: string, shape: number[], fill: 'normal' | 'ones' | 'zeros' = 'normal', std = 0.02) => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (fill === 'ones') data.fill(1);
    else if (fill === 'normal') for (let i = 0; i < data.length; i++) data[i] = normal() * std;
    tensors.set(name, { dtype: 'float32', shape, data });
  };
  const linear = (name: string, out: number, inp: number, bias = true) => {
    put(`${name}.weight`, [out, inp]);
    if (bias) put(`${name}.bias`, [out], 'zeros');
  };
  const layerNorm = (name: string, n: number) => {
    put(`${name}.weight`, [n], 'ones');
    put(`${name}.bias`, [n], 'zeros');
  };

  const v = spec.visual;
  if (v) {
    const C = v.dim;
    put('visual.trunk.cls_token', [1, 1, C]);
    if (v.regTokens) put('visual.trunk.reg_token', [1, v.regTokens, C]);
    put('visual.trunk.spatial_posemb', [1, ...v.grid, C], 'normal', 0.1);
    if (v.sequence) put('visual.trunk.sequential_posemb', [1, 40, C], 'normal', 0.1);
    put('visual.trunk.patch_embed.proj.weight', [C, 1, ...v.patch], 'normal', 0.05);
    put('visual.trunk.patch_embed.proj.bias', [C], 'zeros');
    for (let b = 0; b < v.depth; b++) {
      const p = `visual.trunk.blocks.${b}`;
      layerNorm(`${p}.norm1`, C);
      linear(`${p}.attn.qkv`, 3 * C, C);
      linear(`${p}.attn.proj`, C, C);
      layerNorm(`${p}.norm2`, C);
      linear(`${p}.mlp.fc1`, 4 * C, C);
      linear(`${p}.mlp.fc2`, C, 4 * C);
    }
    layerNorm('visual.trunk.norm', C);
    put('visual.head.proj.weight', [v.embed, v.pool === 'dinotxt' ? 2 * C : C]);
  }
  const t = spec.text;
  if (t) {
    const H = t.hidden;
    const e = 'text.transformer.embeddings';
    put(`${e}.word_embeddings.weight`, [t.vocab, H]);
    put(`${e}.position_embeddings.weight`, [t.positions, H]);
    put(`${e}.token_type_embeddings.weight`, [2, H]);
    layerNorm(`${e}.LayerNorm`, H);
    for (let l = 0; l < t.layers; l++) {
      const p = `text.transformer.encoder.layer.${l}`;
      for (const q of ['query', 'key', 'value']) linear(`${p}.attention.self.${q}`, H, H);
      linear(`${p}.attention.output.dense`, H, H);
      layerNorm(`${p}.attention.output.LayerNorm`, H);
      linear(`${p}.intermediate.dense`, t.intermediate, H);
      linear(`${p}.output.dense`, H, t.intermediate);
      layerNorm(`${p}.output.LayerNorm`, H);
    }
    put('text.proj.weight', [t.embed, H]);
  }
  if (v || t) tensors.set('logit_scale', { dtype: 'float32', shape: [], data: Float32Array.of(Math.log(1 / 0.07)) });
  return tensors;
}
