/**
 * The embedded default for a fresh machine: a small checkpoint with HLIP's architecture (patch (6,16,16), 48x224x224
 * scans, scan/study attention schedule, DINO.txt pooling, a BERT text tower) and SEEDED RANDOM weights. It exercises the
 * whole pipeline (conversion, pre-processing, inference, scoring, attention maps) without a download; its scores mean
 * nothing, and every surface that shows them says so (manifest flag `untrained`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from './checkpoint';
import { KNOWN_VARIANTS } from './config';
import type { HostTensor, TensorMap } from './tensor';
import { buildDemoVocab } from './vocab';

export const DEMO_VARIANT = 'ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568';
const V = { dim: 96, heads: 4, embed: 64 };
const T = { hidden: 64, layers: 2, heads: 4, intermediate: 128, positions: 256 };

/** Deterministic normal samples (mulberry32 + Box-Muller): the same checkpoint on every machine. */
function normalRng(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

/** Writes model.safetensors, open_clip_config.json and vocab.txt into `dir`; returns the checkpoint path. */
export function writeDemoModel(dir: string, seed = 20251008): string {
  const variant = KNOWN_VARIANTS[DEMO_VARIANT];
  const normal = normalRng(seed);
  const tensors: TensorMap = new Map();
  const put = (name: string, shape: number[], fill: 'normal' | 'ones' | 'zeros' = 'normal', std = 0.02) => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (fill === 'ones') data.fill(1);
    else if (fill === 'normal') for (let i = 0; i < data.length; i++) data[i] = normal() * std;
    tensors.set(name, { dtype: 'float32', shape, data } satisfies HostTensor);
  };
  const linear = (name: string, out: number, inp: number, bias = true) => {
    put(`${name}.weight`, [out, inp]);
    if (bias) put(`${name}.bias`, [out], 'zeros');
  };
  const layerNorm = (name: string, n: number) => {
    put(`${name}.weight`, [n], 'ones');
    put(`${name}.bias`, [n], 'zeros');
  };

  const [pd, ph, pw] = variant.patch_size;
  const grid = variant.img_size.map((s, i) => s / variant.patch_size[i]);
  const C = V.dim;
  put('visual.trunk.cls_token', [1, 1, C]);
  put('visual.trunk.spatial_posemb', [1, grid[0], grid[1], grid[2], C], 'normal', 0.1);
  put('visual.trunk.patch_embed.proj.weight', [C, 1, pd, ph, pw], 'normal', 0.05);
  put('visual.trunk.patch_embed.proj.bias', [C], 'zeros');
  for (let b = 0; b < variant.depth; b++) {
    const p = `visual.trunk.blocks.${b}`;
    layerNorm(`${p}.norm1`, C);
    linear(`${p}.attn.qkv`, 3 * C, C);
    linear(`${p}.attn.proj`, C, C);
    layerNorm(`${p}.norm2`, C);
    linear(`${p}.mlp.fc1`, 4 * C, C);
    linear(`${p}.mlp.fc2`, C, 4 * C);
  }
  layerNorm('visual.trunk.norm', C);
  put('visual.head.proj.weight', [V.embed, 2 * C]);

  const vocab = buildDemoVocab();
  const H = T.hidden;
  const e = 'text.transformer.embeddings';
  put(`${e}.word_embeddings.weight`, [vocab.length, H]);
  put(`${e}.position_embeddings.weight`, [T.positions, H]);
  put(`${e}.token_type_embeddings.weight`, [2, H]);
  layerNorm(`${e}.LayerNorm`, H);
  for (let l = 0; l < T.layers; l++) {
    const p = `text.transformer.encoder.layer.${l}`;
    for (const q of ['query', 'key', 'value']) linear(`${p}.attention.self.${q}`, H, H);
    linear(`${p}.attention.output.dense`, H, H);
    layerNorm(`${p}.attention.output.LayerNorm`, H);
    linear(`${p}.intermediate.dense`, T.intermediate, H);
    linear(`${p}.output.dense`, H, T.intermediate);
    layerNorm(`${p}.output.LayerNorm`, H);
  }
  put('text.proj.weight', [V.embed, H]);
  tensors.set('logit_scale', { dtype: 'float32', shape: [], data: Float32Array.of(Math.log(1 / 0.07)) });

  mkdirSync(dir, { recursive: true });
  const ckpt = join(dir, 'model.safetensors');
  writeSafetensors(ckpt, tensors, { hlip_untrained: 'true', hlip_seed: String(seed), format: 'pt' });
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  const config = {
    model_cfg: {
      embed_dim: V.embed,
      vision_cfg: { timm_model_name: DEMO_VARIANT, timm_pool: 'dinotxt', timm_proj: 'linear' },
      text_cfg: { hf_pooler_type: 'cls_last_hidden_state_pooler', hf_proj_type: 'linear', context_length: 256 },
      hlip_visual: { depth: variant.depth, embed_dim: C, num_heads: V.heads, img_size: variant.img_size, patch_size: variant.patch_size },
      hlip_text: { hidden: H, layers: T.layers, heads: T.heads, intermediate: T.intermediate, vocab_size: vocab.length, max_positions: T.positions },
    },
    hlip_untrained: true,
    note: 'HLIP-architecture demo model with seeded random weights: untrained, its scores are meaningless.',
  };
  writeFileSync(join(dir, 'open_clip_config.json'), `${JSON.stringify(config, null, 1)}\n`);
  return ckpt;
}
