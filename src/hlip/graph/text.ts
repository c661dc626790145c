/**
 * The text tower as ONNX (docs/hlip-model.md, "Text ONNX graph"): HF BERT (post-norm), last hidden state at
 * position 0, open_clip's text.proj (no bias), L2-normalised.
 */
import { writeFileSync } from 'node:fs';
import { TextConfig } from '../model-config';
import { TensorMap } from '../checkpoint/tensor';
import { selfAttention } from './attention';
import { type GraphBuilder, MS_DOMAIN, transpose2d } from './builder';
import { DataType } from './onnx-proto';
import { type BuildOptions, type BuildResult, towerBuilder } from './visual';
import { Weights } from './weights';

const T = 'text.transformer.';

export function buildTextOnnx(tensors: TensorMap, cfg: TextConfig, outPath: string, opts: BuildOptions = {}): BuildResult {
  const g = towerBuilder(outPath, opts);
  try {
    textGraph(g, new Weights(tensors), cfg, opts);
    writeFileSync(outPath, g.encode());
  } catch (e) {
    g.abort();
    throw e;
  }
  return { params: g.params, nodes: g.nodes.length };
}

function textGraph(g: GraphBuilder, w: Weights, cfg: TextConfig, opts: BuildOptions): void {
  const Hd = cfg.hidden, L = cfg.contextLength;
  if (L > cfg.maxPositions) throw new Error(`context length ${L} exceeds ${cfg.maxPositions} positions`);
  if (Hd % cfg.heads) throw new Error(`hidden size ${Hd} is not a multiple of ${cfg.heads} heads`);
  const vec = (key: string, n: number) => g.weight(key, [n], w.f32(key, [n]));
  const ln = (x: string, key: string) => g.layerNorm(x, vec(`${key}.weight`, Hd), vec(`${key}.bias`, Hd), cfg.layerNormEps);
  const dense = (x: string, key: string, out: number, inp: number) =>
    g.dense(x, `${key}.weight`, transpose2d(w.f32(`${key}.weight`, [out, inp]), out, inp), inp, out, vec(`${key}.bias`, out));

  // The sequence length is dynamic (at most contextLength): padded keys get exactly zero weight and the output is
  // position 0, so a caller may trim a batch to its longest unpadded row for the same result at a fraction of the cost.
  const ids = g.input('input_ids', DataType.INT64, ['n', 'seq']);
  const mask = g.input('attention_mask', DataType.INT64, ['n', 'seq']);

  // Embeddings: word + token_type 0, then + positions 0..L-1 (HF's order of additions), LayerNorm.
  const e = `${T}embeddings.`;
  const word = g.weight(`${e}word_embeddings.weight`, [cfg.vocabSize, Hd], w.f32(`${e}word_embeddings.weight`, [cfg.vocabSize, Hd]));
  const pos = w.f32(`${e}position_embeddings.weight`, [cfg.maxPositions, Hd]).subarray(0, L * Hd);
  const type0 = w.f32(`${e}token_type_embeddings.weight`, [cfg.typeVocab, Hd]).subarray(0, Hd);
  let x = g.op('Add', [g.op('Gather', [word, ids], { axis: 0 }), g.weight(`${e}token_type_embeddings.row0`, [Hd], type0)]);
  const posW = g.weight(`${e}position_embeddings.first${L}`, [L, Hd], pos);
  x = g.op('Add', [x, g.op('Slice', [posW, g.i64([0]), g.dims(ids, 1, 2), g.i64([0])])]);
  x = ln(x, `${e}LayerNorm`);

  // The QKV projections fused into one MatMul [Hd, 3Hd] (then split): one GEMM instead of three.
  for (let i = 0; i < cfg.layers; i++) {
    const k = `${T}encoder.layer.${i}.`;
    const wqkv = new Float32Array(Hd * 3 * Hd), bqkv = new Float32Array(3 * Hd);
    ['query', 'key', 'value'].forEach((name, j) => {
      const wt = w.f32(`${k}attention.self.${name}.weight`, [Hd, Hd]);
      for (let o = 0; o < Hd; o++) for (let c = 0; c < Hd; c++) wqkv[c * 3 * Hd + j * Hd + o] = wt[o * Hd + c];
      bqkv.set(w.f32(`${k}attention.self.${name}.bias`, [Hd]), j * Hd);
    });
    const qkv = g.dense(x, `${k}attention.self.qkv.weight`, wqkv, Hd, 3 * Hd, g.weight(`${k}attention.self.qkv.bias`, [3 * Hd], bqkv));
    const [q, kk, v] = g.opN('Split', [qkv, g.i64([Hd, Hd, Hd])], { axis: -1 }, { outputs: 3 });
    const a = selfAttention(g, opts.attention ?? 'fused', { q, k: kk, v, heads: cfg.heads, dim: Hd, keyMask: mask });
    x = ln(g.op('Add', [dense(a, `${k}attention.output.dense`, Hd, Hd), x]), `${k}attention.output.LayerNorm`);
    const inter = g.op('Gelu', [dense(x, `${k}intermediate.dense`, cfg.intermediate, Hd)], {}, { domain: MS_DOMAIN });
    x = ln(g.op('Add', [dense(inter, `${k}output.dense`, Hd, cfg.intermediate), x]), `${k}output.LayerNorm`);
  }

  const cls = g.reshape(g.slice(x, 1, 0, 1), [-1, Hd]);
  const projKey = 'text.proj.weight';
  const raw = g.op('MatMul', [cls, g.weight(projKey, [Hd, cfg.projDim], transpose2d(w.f32(projKey, [cfg.projDim, Hd]), cfg.projDim, Hd))]);
  g.output('text_embedding_raw', raw, ['n', cfg.projDim]);
  g.output('text_embedding', g.op('LpNormalization', [raw], { axis: -1, p: 2 }), ['n', cfg.projDim]);
}
