/**
 * The HLIP visual tower as ONNX (docs/hlip-model.md, "Visual ONNX graph"): HLIPVisualEncoder (hlip-ablation) with its
 * slice / scan / study windows, then open_clip's head (token or DINO.txt pooling).
 */
import { writeFileSync } from 'node:fs';
import { AttentionLevel, gridOf, prefixTokens, VisualConfig } from '../model-config';
import { TensorMap } from '../checkpoint/tensor';
import { AttentionImpl, firstQueryAttention, selfAttention } from './attention';
import { GraphBuilder, MS_DOMAIN, transpose2d } from './builder';
import { DataType } from './onnx-proto';
import { int8WeightRange, type Precision } from './precision';
import { ropeTables } from './rope';
import { Weights } from './weights';

export interface BuildOptions {
  /** 'fused' (default): com.microsoft.MultiHeadAttention; 'explicit': MatMul/Softmax (tests, cross-checks). */
  attention?: AttentionImpl;
  /** ONNX default-domain opset (17 unless told). */
  opset?: number;
  /** 'fp32' (default) or 'int8': the blocks' Linear layers quantised (precision.ts). */
  precision?: Precision;
  /** int8 only: the largest weight magnitude (default: int8WeightRange() of this machine). */
  int8Range?: number;
}

/** The graph builder for a tower at the options' opset and precision. */
export function towerBuilder(outPath: string, opts: BuildOptions): GraphBuilder {
  const precision = opts.precision ?? 'fp32';
  return new GraphBuilder(outPath, opts.opset ?? 17, precision, opts.int8Range ?? (precision === 'int8' ? int8WeightRange() : 127));
}

export interface BuildResult {
  params: number;
  nodes: number;
}

const LN_EPS = 1e-6; // timm ViT
const END = 2 ** 53; // Slice "to the end"
const RANK: Record<AttentionLevel, number> = { slice: 0, scan: 1, study: 2 };

/**
 * Whether the last block is computed for the prefix tokens only. With token pooling at a study-level last block, the
 * embedding reads only the prefix tokens' outputs of that block, and its CLS attention map needs the block's keys and
 * the CLS query, not the patch tokens' outputs: their attention and MLP rows would be computed and thrown away (at
 * 8 scans, one of the four 9,409-token attentions). DINO.txt pooling averages the patch tokens: every row counts.
 */
export const prefixOnlyLastBlock = (cfg: VisualConfig): boolean => cfg.pool === 'token' && cfg.schedule[cfg.depth - 1] === 'study';

export function buildVisualOnnx(tensors: TensorMap, cfg: VisualConfig, outPath: string, opts: BuildOptions = {}): BuildResult {
  if (cfg.schedule.length !== cfg.depth) throw new Error(`schedule has ${cfg.schedule.length} entries for ${cfg.depth} blocks`);
  if (cfg.embedDim % cfg.numHeads) throw new Error(`width ${cfg.embedDim} is not a multiple of ${cfg.numHeads} heads`);
  const g = towerBuilder(outPath, opts);
  try {
    new VisualGraph(g, new Weights(tensors), cfg, opts.attention ?? 'fused').build();
    writeFileSync(outPath, g.encode());
  } catch (e) {
    g.abort();
    throw e;
  }
  return { params: g.params, nodes: g.nodes.length };
}

class VisualGraph {
  private readonly C: number;
  private readonly P: number;
  private readonly grid: [number, number, number];
  private readonly T = 'visual.trunk.';
  /** RoPE models: the per-scan tables as graph constants, the pair permutation, and the scan count N [1]. */
  private rope?: { cos: string; sin: string; perm: string; nScans: string };
  /** RoPE cos/sin laid out for each window level, built once per graph (see ropeFor). */
  private readonly ropeLevel = new Map<AttentionLevel, { cos: string; sin: string }>();

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: Weights,
    private readonly cfg: VisualConfig,
    private readonly impl: AttentionImpl,
  ) {
    this.C = cfg.embedDim;
    this.P = prefixTokens(cfg);
    this.grid = gridOf(cfg);
  }

  /** Window shape of the patch tokens at a level: slice [N*d, h*w, C], scan [N, L, C], study [1, N*L, C]. */
  private windowShape(level: AttentionLevel): number[] {
    const [d, h, w] = this.grid;
    return level === 'slice' ? [-1, h * w, this.C] : level === 'scan' ? [-1, d * h * w, this.C] : [1, -1, this.C];
  }

  /** A Linear weight [out, in] as a MatMul operand [in, out], plus its bias when present. */
  private linear(x: string, key: string, outDim: number, inDim: number): string {
    const g = this.g;
    const b = this.w.has(`${key}.bias`) ? g.weight(`${key}.bias`, [outDim], this.w.f32(`${key}.bias`, [outDim])) : undefined;
    return g.dense(x, `${key}.weight`, transpose2d(this.w.f32(`${key}.weight`, [outDim, inDim]), outDim, inDim), inDim, outDim, b);
  }

  private norm(x: string, key: string): string {
    const g = this.g, C = this.C;
    return g.layerNorm(x, g.weight(`${key}.weight`, [C], this.w.f32(`${key}.weight`, [C])),
      g.weight(`${key}.bias`, [C], this.w.f32(`${key}.bias`, [C])), LN_EPS);
  }

  build(): void {
    const { g, cfg, C, P } = this;
    const [D, H, W] = cfg.imgSize;
    const [pd, ph, pw] = cfg.patchSize;
    const [d, h, w] = this.grid;
    const image = g.input('image', DataType.FLOAT, [1, 'n_scans', 1, D, H, W]);

    // Patch embedding: Conv3d(kernel = stride = patch) per scan -> [N, d, h, w, C].
    const convKey = `${this.T}patch_embed.proj`;
    const convW = g.weight(`${convKey}.weight`, [C, 1, pd, ph, pw], this.w.f32(`${convKey}.weight`, [C, 1, pd, ph, pw]));
    const convIn = [g.reshape(image, [-1, 1, D, H, W]), convW];
    if (this.w.has(`${convKey}.bias`)) convIn.push(g.weight(`${convKey}.bias`, [C], this.w.f32(`${convKey}.bias`, [C])));
    let tok = g.transpose(g.op('Conv', convIn, { kernel_shape: [pd, ph, pw], strides: [pd, ph, pw] }), [0, 2, 3, 4, 1]);

    // Position embeddings: spatial [d, h, w, C] (the checkpoint's grid must be the input's), then per-scan sequence rows 0..N-1.
    const sp = `${this.T}spatial_posemb`;
    tok = g.op('Add', [tok, g.weight(sp, [d, h, w, C], this.w.f32(sp, [1, d, h, w, C]))]);
    const seqKey = `${this.T}sequential_posemb`;
    if (this.w.has(seqKey)) {
      const M = this.w.shape(seqKey)[1];
      const seq = g.weight(seqKey, [M, C], this.w.f32(seqKey, [1, M, C]));
      // Rows 0..N-1 (HLIP at batch size 1). N > M would need HLIP's linear resampling; callers cap N at maxNumScans.
      const rows = g.op('Slice', [seq, g.i64([0]), g.dims(tok, 0, 1), g.i64([0])]); // [N, C]
      tok = g.op('Add', [tok, g.reshape(rows, [-1, 1, 1, 1, C])]);
    } else if (cfg.maxNumScans > 1) {
      throw new Error(`${cfg.name}: maxNumScans ${cfg.maxNumScans} but the checkpoint has no ${seqKey}`);
    }
    if (cfg.rope) {
      const t = ropeTables(cfg, P), rows = P + d * h * w;
      this.rope = {
        cos: g.constant('rope.cos', [rows, C], t.cos), sin: g.constant('rope.sin', [rows, C], t.sin),
        perm: g.i64(t.perm), nScans: g.dims(tok, 0, 1),
      };
    }

    // Prefix tokens (CLS, then registers), one copy per window of the first level.
    const prefixData = new Float32Array(P * C);
    prefixData.set(this.w.f32(`${this.T}cls_token`, [1, 1, C]));
    if (cfg.regTokens > 0) prefixData.set(this.w.f32(`${this.T}reg_token`, [1, cfg.regTokens, C]), C);
    const prefix = g.weight(`${this.T}prefix_tokens`, [1, P, C], prefixData);
    const level0 = cfg.schedule[0];
    const tokW = g.reshape(tok, this.windowShape(level0));
    let x = g.concat([g.op('Expand', [prefix, g.concat([g.dims(tokW, 0, 1), g.i64([P, C])], 0)]), tokW], 1);

    let level = level0;
    let clsAttn = '';
    for (let i = 0; i < cfg.depth; i++) {
      const next = cfg.schedule[i];
      if (next !== level) x = this.rewindow(x, level, next);
      level = next;
      const last = i === cfg.depth - 1;
      const r = this.block(x, i, last, level, last && prefixOnlyLastBlock(cfg));
      x = r.x;
      if (last) clsAttn = this.studyClsAttention(r.clsAttn, level);
    }
    if (level !== 'study') x = this.rewindow(x, level, 'study');
    x = this.norm(x, `${this.T}norm`);
    const { raw, E, patchProj } = this.head(x);
    g.output('embedding_raw', raw, [1, P, E]);
    g.output('embedding', g.op('LpNormalization', [raw], { axis: -1, p: 2 }), [1, P, E]);
    g.output('cls_attn', clsAttn, [1, cfg.numHeads, 'n_tokens']);
    // The same attention over the patches only, as maps per scan: [heads, N, d, h, w] and its mean over heads.
    const maps = g.reshape(g.slice(clsAttn, 2, P, END), [cfg.numHeads, -1, d, h, w]);
    g.output('cls_attn_maps', maps, [cfg.numHeads, 'n_scans', d, h, w]);
    g.output('cls_attn_map', g.mean(maps, 0, 0), ['n_scans', d, h, w]);
    if (patchProj) g.output('patch_proj', patchProj, [1, 'n_patches', E]);
  }

  /** Re-partition [windows, P + tokens, C] between levels: prefix tokens averaged going up, copied going down. */
  private rewindow(x: string, from: AttentionLevel, to: AttentionLevel): string {
    const { g, C, P } = this;
    const pre = g.slice(x, 1, 0, P);
    const tok = g.reshape(g.slice(x, 1, P, END), this.windowShape(to));
    let preTo: string;
    if (RANK[to] > RANK[from]) {
      const groups = to === 'study' ? [1, -1, P, C] : [-1, this.grid[0], P, C];
      preTo = g.mean(g.reshape(pre, groups), 1, 0);
    } else if (from === 'study') {
      preTo = g.op('Expand', [pre, g.concat([g.dims(tok, 0, 1), g.i64([P, C])], 0)]);
    } else {
      // scan -> slice: each scan's prefix copied to its d slabs.
      preTo = g.reshape(g.op('Expand', [g.reshape(pre, [-1, 1, P, C]), g.i64([1, this.grid[0], 1, 1])]), [-1, P, C]);
    }
    return g.concat([preTo, tok], 1);
  }

  /**
   * timm Block (pre-norm); with `cls`, also the CLS query's attention probabilities per window [W, heads, T]. With
   * `prefixOnly`, the output is the prefix tokens' rows alone [W, P, C] (see prefixOnlyLastBlock).
   */
  private block(x: string, i: number, cls: boolean, level: AttentionLevel, prefixOnly = false): { x: string; clsAttn: string } {
    const { g, C, P, cfg } = this;
    const k = `${this.T}blocks.${i}.`;
    const qkv = this.linear(this.norm(x, `${k}norm1`), `${k}attn.qkv`, 3 * C, C);
    const [q0, k0, v] = g.opN('Split', [qkv, g.i64([C, C, C])], { axis: -1 }, { outputs: 3 });
    // RoPE: HLIP rotates q and k in every block; done here because the fused kernel takes them as [B, T, C]. The
    // CLS row below uses the rotated ones too.
    const [q, kk] = this.rope ? [q0, k0].map((t) => this.applyRope(t, level)) : [q0, k0];
    const o = selfAttention(g, this.impl, { q: prefixOnly ? g.slice(q, 1, 0, P) : q, k: kk, v, heads: cfg.numHeads, dim: C });
    if (prefixOnly) x = g.slice(x, 1, 0, P);
    x = g.op('Add', [x, this.linear(o, `${k}attn.proj`, C, C)]);
    const hidden = Math.round(cfg.mlpRatio * C);
    const m = g.op('Gelu', [this.linear(this.norm(x, `${k}norm2`), `${k}mlp.fc1`, hidden, C)], {}, { domain: MS_DOMAIN });
    x = g.op('Add', [x, this.linear(m, `${k}mlp.fc2`, C, hidden)]);
    return { x, clsAttn: cls ? firstQueryAttention(g, q, kk, cfg.numHeads, C) : '' };
  }

  /** rope(x) = x * cos + x[perm] * sin on [W, P + Lw, C] (see rope.ts). */
  private applyRope(x: string, level: AttentionLevel): string {
    const g = this.g, { cos, sin } = this.ropeFor(level);
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [g.op('Gather', [x, this.rope!.perm], { axis: 2 }), sin])]);
  }

  /**
   * RoPE cos/sin broadcastable against a window batch [W, P + Lw, C] of `level`. Positions are each patch's (z, y, x)
   * inside its own scan at every level, as HLIP's keep_indices (arange(L) per scan, reshaped with the tokens):
   * scan: the table as is; study: the scan rows tiled N times (every scan reuses the same positions);
   * slice: one table per depth slab z [d, P + h*w, C], tiled over the N scans (windows are scan-major).
   */
  private ropeFor(level: AttentionLevel): { cos: string; sin: string } {
    const { g, C, P } = this, r = this.rope!;
    let t = this.ropeLevel.get(level);
    if (t) return t;
    const [d, h, w] = this.grid;
    const lay = (table: string): string => {
      if (level === 'scan') return table;
      const pre = g.slice(table, 0, 0, P), pat = g.slice(table, 0, P, END);
      if (level === 'study') return g.concat([pre, g.op('Tile', [pat, g.concat([r.nScans, g.i64([1])], 0)])], 0);
      const perSlab = g.concat([g.op('Expand', [g.reshape(pre, [1, P, C]), g.i64([d, P, C])]), g.reshape(pat, [d, h * w, C])], 1);
      return g.op('Tile', [perSlab, g.concat([r.nScans, g.i64([1, 1])], 0)]);
    };
    t = { cos: lay(r.cos), sin: lay(r.sin) };
    this.ropeLevel.set(level, t);
    return t;
  }

  /**
   * The last block's CLS attention in the study layout [1, heads, P + N*L]. Study level: the one CLS row as is.
   * A scan/slice-level last block (single-scan chest CT) has one CLS row per window: their mean, with each window's
   * patch part placed at its tokens (exact for one window; rows still sum to 1).
   */
  private studyClsAttention(a: string, level: AttentionLevel): string {
    const { g, P } = this;
    if (level === 'study') return a;
    const pre = g.mean(g.slice(a, 2, 0, P), 0, 1); // [1, heads, P]
    const nWin = g.op('Cast', [g.dims(a, 0, 1)], { to: DataType.FLOAT });
    const tok = g.reshape(g.transpose(g.slice(a, 2, P, END), [1, 0, 2]), [1, this.cfg.numHeads, -1]);
    return g.concat([pre, g.op('Div', [tok, nWin])], 2);
  }

  /** open_clip head: per prefix token, token pool (x_p) or DINO.txt ([x_p ‖ mean(patches)]), then head.proj (no bias). */
  private head(x: string): { raw: string; E: number; patchProj?: string } {
    const { g, C, P, cfg } = this;
    const key = 'visual.head.proj.weight';
    const [E, inDim] = this.w.shape(key);
    const wantIn = cfg.pool === 'dinotxt' ? 2 * C : C;
    if (inDim !== wantIn) throw new Error(`${key} is [${E}, ${inDim}], pool '${cfg.pool}' needs [E, ${wantIn}]`);
    const proj = this.w.f32(key, [E, inDim]);
    const pre = g.slice(x, 1, 0, P);
    if (cfg.pool === 'token') {
      return { raw: g.op('MatMul', [pre, g.weight(key, [C, E], transpose2d(proj, E, C))]), E };
    }
    // Split head.proj into its prefix half and patch half: the patch half alone gives patch_proj, and
    // [x_p ‖ m] . W^T = x_p . Wc^T + m . Wp^T with no bias, so the embedding is unchanged.
    const wC = new Float32Array(C * E), wP = new Float32Array(C * E);
    for (let e = 0; e < E; e++) {
      for (let c = 0; c < C; c++) {
        wC[c * E + e] = proj[e * inDim + c];
        wP[c * E + e] = proj[e * inDim + C + c];
      }
    }
    const wc = g.weight(`${key}.prefix_half`, [C, E], wC);
    const wp = g.weight(`${key}.patch_half`, [C, E], wP);
    const patches = g.slice(x, 1, P, END);
    const raw = g.op('Add', [g.op('MatMul', [pre, wc]), g.op('MatMul', [g.mean(patches, 1, 1), wp])]);
    return { raw, E, patchProj: g.op('MatMul', [patches, wp]) };
  }
}
