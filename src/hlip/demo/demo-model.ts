/**
 * The embedded default for a fresh machine: a small checkpoint with HLIP's architecture (patch (6,16,16), 48x224x224
 * scans, scan/study attention schedule, DINO.txt pooling, a BERT text tower) and SEEDED RANDOM weights. It exercises the
 * whole pipeline (conversion, pre-processing, inference, scoring, attention maps) without a download; its scores mean
 * nothing, and every surface that shows them says so (manifest flag `untrained`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../checkpoint/safetensors';
import { KNOWN_VARIANTS } from '../model-config';
import { type Vec3, randomCheckpoint } from './random-checkpoint';
import { buildDemoVocab } from './demo-vocab';

export const DEMO_VARIANT = 'ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568';
const V = { dim: 96, heads: 4, embed: 64 };
const T = { hidden: 64, layers: 2, heads: 4, intermediate: 128, positions: 256 };

/** Writes model.safetensors, open_clip_config.json and vocab.txt into `dir`; returns the checkpoint path. */
export function writeDemoModel(dir: string, seed = 20251008): string {
  const variant = KNOWN_VARIANTS[DEMO_VARIANT];
  const vocab = buildDemoVocab();
  const tensors = randomCheckpoint(
    {
      visual: { dim: V.dim, depth: variant.depth, patch: variant.patch_size as Vec3, grid: variant.img_size.map((s, i) => s / variant.patch_size[i]) as Vec3, pool: 'dinotxt', embed: V.embed },
      text: { vocab: vocab.length, hidden: T.hidden, layers: T.layers, intermediate: T.intermediate, positions: T.positions, embed: V.embed },
    },
    seed,
  );
  const C = V.dim, H = T.hidden;
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
