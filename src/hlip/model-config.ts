import variantsJson from '../../models/hlip-variants.json';

/** Which window a transformer block attends within: one depth-slab of a scan, one scan, or the whole study. */
export type AttentionLevel = 'slice' | 'scan' | 'study';

/** The HLIP visual tower, as far as the ONNX builder and pre-processing need it. */
export interface VisualConfig {
  /** Registered model name when known (e.g. "ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568"), else "custom". */
  name: string;
  depth: number;
  embedDim: number;
  numHeads: number;
  mlpRatio: number;
  /** [depth, height, width] of one scan's input, e.g. [48, 224, 224]. */
  imgSize: [number, number, number];
  patchSize: [number, number, number];
  /** 0 = no per-scan sequence position embedding; otherwise its table length (40). */
  maxNumScans: number;
  /** 'token': CLS -> proj. 'dinotxt': [prefix token ‖ mean(patch tokens)] -> proj, per prefix token. */
  pool: 'token' | 'dinotxt';
  /** Register tokens after the CLS (1 for the "dual" models). Prefix tokens = 1 + regTokens. */
  regTokens: number;
  /** One entry per block. */
  schedule: AttentionLevel[];
  /** Joint embedding size (output of visual.head.proj). */
  projDim: number;
  /** 3D RoPE variant (HLIPAttentionRope in every block): same weights, different attention; known only from the name. */
  rope: boolean;
}

/** The text tower: a BERT encoder, CLS of the last hidden state, Linear(hidden -> projDim, no bias). */
export interface TextConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocab: number;
  projDim: number;
  contextLength: number;
  layerNormEps: number;
}

interface VariantEntry {
  depth: number;
  embed_dim: number;
  num_heads: number;
  img_size: number[];
  patch_size: number[];
  max_num_scans: number;
  pool: string;
  reg_tokens: number;
  rope?: string;
  slice_attn_indexes: number[];
  scan_attn_indexes: number[];
  study_attn_indexes: number[];
}

export const KNOWN_VARIANTS: Record<string, VariantEntry> = (variantsJson as { variants: Record<string, VariantEntry> }).variants;

export function scheduleOf(depth: number, slice: number[], scan: number[], study: number[]): AttentionLevel[] {
  return Array.from({ length: depth }, (_, i) => {
    if (slice.includes(i)) return 'slice';
    if (study.includes(i)) return 'study';
    if (scan.includes(i)) return 'scan';
    throw new Error(`block ${i} is in no attention list`);
  });
}

/** A known variant as a VisualConfig (projDim from the pool: 512 for token, 768 for DINO.txt, as HLIP's configs). */
export function knownVariant(name: string): VisualConfig | undefined {
  const v = KNOWN_VARIANTS[name.replace('clip_', '')]; // open_clip names add "clip_" to the timm name
  if (!v) return undefined;
  return {
    name,
    depth: v.depth,
    embedDim: v.embed_dim,
    numHeads: v.num_heads,
    mlpRatio: 4,
    imgSize: v.img_size as [number, number, number],
    patchSize: v.patch_size as [number, number, number],
    maxNumScans: v.max_num_scans,
    pool: v.pool === 'dinotxt' ? 'dinotxt' : 'token',
    regTokens: v.reg_tokens,
    schedule: scheduleOf(v.depth, v.slice_attn_indexes, v.scan_attn_indexes, v.study_attn_indexes),
    projDim: v.pool === 'dinotxt' ? 768 : 512,
    rope: !!v.rope,
  };
}

/** Patch-grid of one scan: [d, h, w]. */
export const gridOf = (c: Pick<VisualConfig, 'imgSize' | 'patchSize'>): [number, number, number] =>
  [0, 1, 2].map((i) => Math.floor(c.imgSize[i] / c.patchSize[i])) as [number, number, number];

export const prefixTokens = (c: Pick<VisualConfig, 'regTokens'>): number => 1 + c.regTokens;
