/**
 * HLIP ONNX graphs built from seeded random weights and run with onnxruntime-node: shapes, invariants, and agreement
 * with a plain-JS float64 forward pass written straight from HLIP's Python (visual_encoder.py) and HF BERT.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AttentionLevel, gridOf, TextConfig, VisualConfig } from '../../src/hlip/model-config';
import { buildTextOnnx, buildVisualOnnx } from '../../src/hlip/graph';
import { decodeModel } from '../../src/hlip/graph/onnx-proto';
import { HostTensor, TensorMap } from '../../src/hlip/checkpoint/tensor';
import { normalRng } from '../../src/hlip/demo/random-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'hlip-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------- seeded weights ----------
class RandomMap {
  readonly map: TensorMap = new Map();
  private readonly normal: () => number;
  constructor(seed: number) { this.normal = normalRng(seed); }
  add(key: string, shape: number[], std = 0.1, mean = 0): void {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => mean + std * this.normal());
    this.map.set(key, { dtype: 'float32', shape, data });
  }
  /** Stored as float16 bit patterns: the builder must widen them. */
  addHalf(key: string, shape: number[], std = 0.1): void {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Uint16Array(n);
    for (let i = 0; i < n; i++) data[i] = toHalf(std * this.normal());
    this.map.set(key, { dtype: 'float16', shape, data });
  }
}

function toHalf(v: number): number {
  const f = new Float32Array([v]), u = new Uint32Array(f.buffer)[0];
  const s = (u >>> 16) & 0x8000, e = ((u >>> 23) & 0xff) - 127 + 15, m = (u >>> 13) & 0x3ff;
  if (e <= 0) return s; // tiny values flush to zero (fine for test weights)
  return s | (e << 10) | m;
}

function visualWeights(cfg: VisualConfig, seed: number, half = false): TensorMap {
  const r = new RandomMap(seed), C = cfg.embedDim, [d, h, w] = gridOf(cfg), V = 'visual.trunk.';
  const lin = (k: string, o: number, i: number, bias = true) => {
    (half ? r.addHalf.bind(r) : r.add.bind(r))(`${k}.weight`, [o, i], 1 / Math.sqrt(i));
    if (bias) r.add(`${k}.bias`, [o], 0.05);
  };
  const ln = (k: string) => { r.add(`${k}.weight`, [C], 0.1, 1); r.add(`${k}.bias`, [C], 0.05); };
  r.add(`${V}cls_token`, [1, 1, C], 0.5);
  if (cfg.regTokens) r.add(`${V}reg_token`, [1, cfg.regTokens, C], 0.5);
  r.add(`${V}spatial_posemb`, [1, d, h, w, C], 0.3);
  if (cfg.maxNumScans > 1) r.add(`${V}sequential_posemb`, [1, cfg.maxNumScans, C], 0.3);
  const [pd, ph, pw] = cfg.patchSize;
  r.add(`${V}patch_embed.proj.weight`, [C, 1, pd, ph, pw], 1 / Math.sqrt(pd * ph * pw));
  r.add(`${V}patch_embed.proj.bias`, [C], 0.05);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `${V}blocks.${i}.`;
    ln(`${b}norm1`); lin(`${b}attn.qkv`, 3 * C, C); lin(`${b}attn.proj`, C, C);
    ln(`${b}norm2`); lin(`${b}mlp.fc1`, 4 * C, C); lin(`${b}mlp.fc2`, C, 4 * C);
  }
  ln(`${V}norm`);
  lin('visual.head.proj', cfg.projDim, cfg.pool === 'dinotxt' ? 2 * C : C, false);
  return r.map;
}

function textWeights(cfg: TextConfig, seed: number): TensorMap {
  const r = new RandomMap(seed), H = cfg.hidden, T = 'text.transformer.';
  const lin = (k: string, o: number, i: number) => { r.add(`${k}.weight`, [o, i], 1 / Math.sqrt(i)); r.add(`${k}.bias`, [o], 0.05); };
  const ln = (k: string) => { r.add(`${k}.weight`, [H], 0.1, 1); r.add(`${k}.bias`, [H], 0.05); };
  r.add(`${T}embeddings.word_embeddings.weight`, [cfg.vocabSize, H], 0.5);
  r.add(`${T}embeddings.position_embeddings.weight`, [cfg.maxPositions, H], 0.3);
  r.add(`${T}embeddings.token_type_embeddings.weight`, [cfg.typeVocab, H], 0.3);
  ln(`${T}embeddings.LayerNorm`);
  for (let i = 0; i < cfg.layers; i++) {
    const k = `${T}encoder.layer.${i}.`;
    for (const n of ['query', 'key', 'value']) lin(`${k}attention.self.${n}`, H, H);
    lin(`${k}attention.output.dense`, H, H); ln(`${k}attention.output.LayerNorm`);
    lin(`${k}intermediate.dense`, cfg.intermediate, H); lin(`${k}output.dense`, H, cfg.intermediate); ln(`${k}output.LayerNorm`);
  }
  r.add('text.proj.weight', [cfg.projDim, H], 1 / Math.sqrt(H));
  return r.map;
}

// ---------- float64 reference forward (HLIP visual_encoder.py, HF BERT) ----------
type Vec = Float64Array;
const f64 = (t: HostTensor | undefined): Float64Array => {
  if (!t) throw new Error('missing tensor');
  if (t.dtype === 'float16') {
    const h = t.data as Uint16Array;
    return Float64Array.from(h, (b) => {
      const s = b & 0x8000 ? -1 : 1, e = (b >> 10) & 0x1f, f = b & 0x3ff;
      return e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15);
    });
  }
  return Float64Array.from(t.data as Float32Array);
};

function erf(x: number): number {
  // Series / continued fraction accurate to ~1e-15 is overkill; this Taylor + asymptotic split is ~1e-12.
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = x, term = x;
    for (let n = 1; n < 80; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.5 * ax);
  const y = 1 - t * Math.exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

function layerNorm(x: Vec, g: Vec, b: Vec, eps: number): Vec {
  const n = x.length;
  let m = 0; for (const v of x) m += v; m /= n;
  let s = 0; for (const v of x) s += (v - m) ** 2; s /= n;
  const r = 1 / Math.sqrt(s + eps);
  return x.map((v, i) => (v - m) * r * g[i] + b[i]);
}
/** y = W x + b with W [out, in]. */
function lin(x: Vec, W: Vec, b: Vec | undefined, out: number): Vec {
  const inp = x.length, y = new Float64Array(out);
  for (let o = 0; o < out; o++) { let s = b ? b[o] : 0; for (let i = 0; i < inp; i++) s += W[o * inp + i] * x[i]; y[o] = s; }
  return y;
}
/** Multi-head attention over one window; returns outputs and the first query's probabilities per head. */
function mha(qs: Vec[], ks: Vec[], vs: Vec[], heads: number, keep?: boolean[]): { out: Vec[]; p0: number[][] } {
  const C = qs[0].length, hd = C / heads, T = ks.length, out = qs.map(() => new Float64Array(C)), p0: number[][] = [];
  for (let hh = 0; hh < heads; hh++) {
    qs.forEach((q, qi) => {
      const s = ks.map((k, j) => {
        if (keep && !keep[j]) return -Infinity;
        let a = 0; for (let c = 0; c < hd; c++) a += q[hh * hd + c] * k[hh * hd + c];
        return a / Math.sqrt(hd);
      });
      const mx = Math.max(...s), e = s.map((v) => Math.exp(v - mx)), z = e.reduce((a, b) => a + b, 0), p = e.map((v) => v / z);
      if (qi === 0) p0.push(p);
      for (let j = 0; j < T; j++) for (let c = 0; c < hd; c++) out[qi][hh * hd + c] += p[j] * vs[j][hh * hd + c];
    });
  }
  return { out, p0 };
}

/**
 * HLIP's rotate_queries_or_keys on one token's q or k [C] at grid position (z, y, x), per head: dims [a*i, a*(i+1))
 * of axis i as pairs (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin), angle pos_i * 10000^(-j / (a/2)) for pair j.
 */
function ropeRef(v: Vec, heads: number, pos: number[]): Vec {
  const C = v.length, hd = C / heads, a = 2 * Math.floor(Math.floor(hd / 3) / 2), out = v.slice();
  for (let hh = 0; hh < heads; hh++) {
    for (let ax = 0; ax < 3; ax++) {
      for (let j = 0; j < a / 2; j++) {
        const i0 = hh * hd + ax * a + 2 * j, ang = pos[ax] / 10000 ** (j / (a / 2)), c = Math.cos(ang), s = Math.sin(ang);
        out[i0] = v[i0] * c - v[i0 + 1] * s;
        out[i0 + 1] = v[i0 + 1] * c + v[i0] * s;
      }
    }
  }
  return out;
}

interface VisualRef { raw: Vec[]; prefix: Vec[]; clsAttn: number[][][]; patchProj?: Vec[]; windows: number }

function visualRef(m: TensorMap, cfg: VisualConfig, img: Float32Array, N: number): VisualRef {
  const W = (k: string) => f64(m.get(k)), V = 'visual.trunk.', C = cfg.embedDim, P = 1 + cfg.regTokens;
  const [D, H, Wd] = cfg.imgSize, [pd, ph, pw] = cfg.patchSize, [d, h, w] = gridOf(cfg), L = d * h * w;
  const cw = W(`${V}patch_embed.proj.weight`), cb = W(`${V}patch_embed.proj.bias`), sp = W(`${V}spatial_posemb`);
  const seq = m.has(`${V}sequential_posemb`) ? W(`${V}sequential_posemb`) : undefined;
  // tokens[s][l]: patch embedding + position embeddings
  const tokens: Vec[][] = [];
  for (let s = 0; s < N; s++) {
    const row: Vec[] = [];
    for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const t = new Float64Array(C), l = (z * h + y) * w + x;
      for (let c = 0; c < C; c++) {
        let a = cb[c];
        for (let kz = 0; kz < pd; kz++) for (let ky = 0; ky < ph; ky++) for (let kx = 0; kx < pw; kx++) {
          a += cw[(((c * pd) + kz) * ph + ky) * pw + kx] * img[((s * D + z * pd + kz) * H + y * ph + ky) * Wd + x * pw + kx];
        }
        t[c] = a + sp[l * C + c] + (seq ? seq[s * C + c] : 0);
      }
      row.push(t);
    }
    tokens.push(row);
  }
  // RoPE positions ride along with the tokens through every re-windowing: (z, y, x) inside the token's own scan.
  const posOf = new Map<Vec, number[]>();
  tokens.forEach((row) => row.forEach((t, l) => posOf.set(t, [Math.floor(l / (h * w)), Math.floor(l / w) % h, l % w])));
  const flat = tokens.flat();
  const winLen = (lv: AttentionLevel) => (lv === 'slice' ? h * w : lv === 'scan' ? L : N * L);
  const cls0 = W(`${V}cls_token`), reg = cfg.regTokens ? W(`${V}reg_token`) : new Float64Array(0);
  const prefix0 = Array.from({ length: P }, (_, p) => (p === 0 ? cls0 : reg.slice((p - 1) * C, p * C)));
  // windows: { pre: Vec[P], tok: Vec[] }
  const split = (lv: AttentionLevel) => {
    const n = winLen(lv), out: Vec[][] = [];
    for (let i = 0; i < flat.length; i += n) out.push(flat.slice(i, i + n));
    return out;
  };
  let level = cfg.schedule[0];
  let wins = split(level).map((tok) => ({ pre: prefix0.map((v) => v.slice()), tok }));
  const rewin = (to: AttentionLevel) => {
    const all = wins.flatMap((wn) => wn.tok);
    flat.splice(0, flat.length, ...all);
    const parts = split(to);
    const ratio = wins.length / parts.length;
    const pres = ratio >= 1
      ? parts.map((_, j) => Array.from({ length: P }, (_, p) => {
        const a = new Float64Array(C);
        for (let r = 0; r < ratio; r++) wins[j * ratio + r].pre[p].forEach((v, c) => { a[c] += v / ratio; });
        return a;
      }))
      : parts.map((_, j) => wins[Math.floor(j * wins.length / parts.length)].pre.map((v) => v.slice()));
    wins = parts.map((tok, j) => ({ pre: pres[j], tok }));
  };
  let clsAttn: number[][][] = [];
  for (let i = 0; i < cfg.depth; i++) {
    if (cfg.schedule[i] !== level) { rewin(cfg.schedule[i]); level = cfg.schedule[i]; }
    const b = `${V}blocks.${i}.`;
    const [g1, b1, wq, bq, wp, bp, g2, b2, w1, bb1, w2, bb2] = ['norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias',
      'attn.proj.weight', 'attn.proj.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias']
      .map((k) => W(b + k));
    clsAttn = [];
    for (const wn of wins) {
      const xs = [...wn.pre, ...wn.tok];
      const qkv = xs.map((x) => lin(layerNorm(x, g1, b1, 1e-6), wq, bq, 3 * C));
      const pos = xs.map((_, t) => (t < P ? undefined : posOf.get(wn.tok[t - P])!));
      const rot = (v: Vec, t: number) => (cfg.rope && pos[t] ? ropeRef(v, cfg.numHeads, pos[t]!) : v);
      const { out, p0 } = mha(qkv.map((v, t) => rot(v.subarray(0, C), t)), qkv.map((v, t) => rot(v.subarray(C, 2 * C), t)),
        qkv.map((v) => v.subarray(2 * C)), cfg.numHeads);
      clsAttn.push(p0);
      const ys = xs.map((x, t) => {
        const a = lin(out[t], wp, bp, C).map((v, c) => v + x[c]);
        const hdn = lin(layerNorm(a, g2, b2, 1e-6), w1, bb1, 4 * C).map(gelu);
        return lin(hdn, w2, bb2, C).map((v, c) => v + a[c]);
      });
      wn.pre = ys.slice(0, P);
      wn.tok = ys.slice(P);
      wn.tok.forEach((t, j) => posOf.set(t, pos[P + j]!));
    }
  }
  const windows = wins.length;
  if (level !== 'study') rewin('study');
  const [gn, bn] = [W(`${V}norm.weight`), W(`${V}norm.bias`)];
  const pre = wins[0].pre.map((x) => layerNorm(x, gn, bn, 1e-6));
  const pat = wins[0].tok.map((x) => layerNorm(x, gn, bn, 1e-6));
  const proj = W('visual.head.proj.weight'), E = cfg.projDim;
  if (cfg.pool === 'token') return { raw: pre.map((x) => lin(x, proj, undefined, E)), prefix: pre, clsAttn, windows };
  const mean = new Float64Array(C);
  for (const p of pat) p.forEach((v, c) => { mean[c] += v / pat.length; });
  const raw = pre.map((x) => { const cat = new Float64Array(2 * C); cat.set(x); cat.set(mean, C); return lin(cat, proj, undefined, E); });
  const wP = new Float64Array(E * C);
  for (let e = 0; e < E; e++) for (let c = 0; c < C; c++) wP[e * C + c] = proj[e * 2 * C + C + c];
  return { raw, prefix: pre, clsAttn, windows, patchProj: pat.map((x) => lin(x, wP, undefined, E)) };
}

function textRef(m: TensorMap, cfg: TextConfig, ids: number[], mask: number[]): Vec {
  const W = (k: string) => f64(m.get(k)), T = 'text.transformer.', H = cfg.hidden, eps = cfg.layerNormEps;
  const we = W(`${T}embeddings.word_embeddings.weight`), pe = W(`${T}embeddings.position_embeddings.weight`);
  const te = W(`${T}embeddings.token_type_embeddings.weight`);
  let xs = ids.map((id, p) => layerNorm(new Float64Array(H).map((_, c) => we[id * H + c] + te[c] + pe[p * H + c]),
    W(`${T}embeddings.LayerNorm.weight`), W(`${T}embeddings.LayerNorm.bias`), eps));
  const keep = mask.map((v) => v === 1);
  for (let i = 0; i < cfg.layers; i++) {
    const k = (s: string) => W(`${T}encoder.layer.${i}.${s}`);
    const q = xs.map((x) => lin(x, k('attention.self.query.weight'), k('attention.self.query.bias'), H));
    const kk = xs.map((x) => lin(x, k('attention.self.key.weight'), k('attention.self.key.bias'), H));
    const v = xs.map((x) => lin(x, k('attention.self.value.weight'), k('attention.self.value.bias'), H));
    const { out } = mha(q, kk, v, cfg.heads, keep);
    xs = xs.map((x, t) => {
      const a = layerNorm(lin(out[t], k('attention.output.dense.weight'), k('attention.output.dense.bias'), H).map((y, c) => y + x[c]),
        k('attention.output.LayerNorm.weight'), k('attention.output.LayerNorm.bias'), eps);
      const inter = lin(a, k('intermediate.dense.weight'), k('intermediate.dense.bias'), cfg.intermediate).map(gelu);
      return layerNorm(lin(inter, k('output.dense.weight'), k('output.dense.bias'), H).map((y, c) => y + a[c]),
        k('output.LayerNorm.weight'), k('output.LayerNorm.bias'), eps);
    });
  }
  return lin(xs[0], W('text.proj.weight'), undefined, cfg.projDim);
}

// ---------- helpers ----------
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
function image(cfg: VisualConfig, N: number, seed: number): Float32Array {
  const n = normalRng(seed);
  return new Float32Array(N * cfg.imgSize.reduce((a, b) => a * b, 1)).map(() => n());
}
async function runVisual(s: ort.InferenceSession, cfg: VisualConfig, img: Float32Array, N: number) {
  return s.run({ image: new ort.Tensor('float32', img, [1, N, 1, ...cfg.imgSize]) });
}
const f32 = (t: ort.Tensor) => t.data as Float32Array;

function tinyVisual(over: Partial<VisualConfig>): VisualConfig {
  const base: VisualConfig = {
    name: 'tiny', depth: 3, embedDim: 24, numHeads: 2, mlpRatio: 4, imgSize: [8, 32, 32], patchSize: [4, 16, 16],
    maxNumScans: 0, pool: 'token', regTokens: 0, schedule: ['scan', 'scan', 'study'], projDim: 16, rope: false,
  };
  return { ...base, ...over, depth: (over.schedule ?? base.schedule).length };
}

const VARIANTS: Record<string, VisualConfig> = {
  h2_token_seqposemb: tinyVisual({ maxNumScans: 40 }),
  h3_token: tinyVisual({ maxNumScans: 40, schedule: ['slice', 'scan', 'study', 'slice', 'scan', 'study'] }),
  dinotxt: tinyVisual({ pool: 'dinotxt', schedule: ['scan', 'study', 'scan', 'study'] }),
  dualdinotxt: tinyVisual({ pool: 'dinotxt', regTokens: 1 }),
  singlescan_slice_scan: tinyVisual({ schedule: ['slice', 'slice', 'scan', 'slice', 'scan'], imgSize: [12, 32, 32] }),
  down_transitions: tinyVisual({ pool: 'dinotxt', regTokens: 1, schedule: ['study', 'scan', 'slice', 'study', 'slice'] }),
  // 3D RoPE: 3 heads of 8 rotate 3 x 2 dims and leave 2; 2 heads of 12 rotate all 12 (3 x 4). Every level, both ways.
  rope_dinotxt: tinyVisual({ pool: 'dinotxt', numHeads: 3, rope: true, schedule: ['scan', 'study', 'scan', 'study'] }),
  rope_all_levels: tinyVisual({ regTokens: 1, rope: true, imgSize: [12, 32, 32], schedule: ['scan', 'slice', 'study', 'slice', 'scan', 'study'] }),
};

describe('HLIP visual graph', () => {
  for (const [name, cfg] of Object.entries(VARIANTS)) {
    test(name, async () => {
      const tensors = visualWeights(cfg, 11);
      const path = join(dir, `${name}.onnx`);
      const { params, nodes } = buildVisualOnnx(tensors, cfg, path);
      assert.ok(params > 0 && nodes > 0);
      const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      const P = 1 + cfg.regTokens, E = cfg.projDim, [d, h, w] = gridOf(cfg), L = d * h * w;
      for (const N of [1, 3, 2]) { // one session: n_scans is dynamic
        const img = image(cfg, N, 100 + N);
        const out = await runVisual(s, cfg, img, N);
        assert.deepEqual(out.embedding_raw.dims, [1, P, E]);
        assert.deepEqual(out.embedding.dims, [1, P, E]);
        assert.deepEqual(out.cls_attn.dims, [1, cfg.numHeads, P + N * L]);
        const emb = f32(out.embedding), raw = f32(out.embedding_raw), attn = f32(out.cls_attn);
        for (let p = 0; p < P; p++) {
          const e = emb.subarray(p * E, (p + 1) * E);
          assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5, 'unit norm');
        }
        for (let hh = 0; hh < cfg.numHeads; hh++) {
          const row = attn.subarray(hh * (P + N * L), (hh + 1) * (P + N * L));
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'cls_attn row sums to 1');
        }
        const ref = visualRef(tensors, cfg, img, N);
        const refRaw = ref.raw.flatMap((v) => [...v]);
        assert.ok(maxAbs(raw, refRaw) < 2e-4 * Math.max(1, ...refRaw.map(Math.abs)), `embedding_raw vs reference: ${maxAbs(raw, refRaw)}`);
        // The reference CLS rows in the study layout (mean over windows for a scan/slice-level last block).
        const lw = ref.clsAttn[0][0].length - P, nw = ref.windows, refAttn: number[] = [];
        for (let hh = 0; hh < cfg.numHeads; hh++) {
          for (let p = 0; p < P; p++) refAttn.push(ref.clsAttn.reduce((a, win) => a + win[hh][p], 0) / nw);
          for (const win of ref.clsAttn) for (let j = 0; j < lw; j++) refAttn.push(win[hh][P + j] / nw);
        }
        assert.ok(maxAbs(attn, refAttn) < 1e-5, `cls_attn vs reference: ${maxAbs(attn, refAttn)}`);
        // The per-scan maps are cls_attn without the prefix columns, per head and averaged over heads.
        const H = cfg.numHeads, T = P + N * L;
        assert.deepEqual(out.cls_attn_maps.dims, [H, N, d, h, w]);
        assert.deepEqual(out.cls_attn_map.dims, [N, d, h, w]);
        const perHead = Array.from({ length: H }, (_, hh) => attn.subarray(hh * T + P, (hh + 1) * T));
        assert.ok(maxAbs(f32(out.cls_attn_maps), perHead.flatMap((r) => [...r])) === 0, 'cls_attn_maps');
        const mean = Array.from({ length: N * L }, (_, i) => perHead.reduce((a, r) => a + r[i], 0) / H);
        assert.ok(maxAbs(f32(out.cls_attn_map), mean) < 1e-7, 'cls_attn_map is the head mean');
        if (cfg.pool === 'dinotxt') {
          assert.deepEqual(out.patch_proj.dims, [1, N * L, E]);
          const pp = f32(out.patch_proj), refPP = ref.patchProj!.flatMap((v) => [...v]);
          assert.ok(maxAbs(pp, refPP) < 2e-4 * Math.max(1, ...refPP.map(Math.abs)), 'patch_proj vs reference');
          // Identity used by per-diagnosis maps: raw_cls = W_cls.cls + mean(patch_proj).
          const gap = identityGap(tensors, cfg, ref, raw, pp);
          assert.ok(gap < 1e-4, `identity embedding_raw = Wc.cls + mean(patch_proj): ${gap}`);
        } else {
          assert.equal(out.patch_proj, undefined);
        }
      }
    });
  }

  test('token pooling: the study-level last block runs attention and MLP for the prefix tokens only', async () => {
    // Exactness is the variant tests' job (h2_token_seqposemb, h3_token, rope_all_levels against the reference); this
    // checks that the rows are actually dropped: the query of each attention kernel as run, from onnxruntime's profile.
    const queryRows = async (cfg: VisualConfig, N: number): Promise<number[]> => {
      const path = join(dir, `prefix_${cfg.pool}.onnx`), prefix = join(mkdtempSync(join(dir, 'profile-')), 'p');
      buildVisualOnnx(visualWeights(cfg, 2), cfg, path);
      const s = await ort.InferenceSession.create(path, { enableProfiling: true, profileFilePrefix: prefix });
      await runVisual(s, cfg, image(cfg, N, 3), N);
      s.endProfiling();
      const file = readdirSync(dirname(prefix)).find((f) => f.endsWith('.json'))!;
      type Event = { cat?: string; name?: string; ts?: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[] } };
      const events = (JSON.parse(readFileSync(join(dirname(prefix), file), 'utf8')) as Event[])
        .filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time') && e.args?.op_name === 'MultiHeadAttention')
        .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
      return events.map((e) => Object.values(e.args!.input_type_shape![0])[0][1]);
    };
    const N = 2, token = VARIANTS.h2_token_seqposemb, [d, h, w] = gridOf(token), L = d * h * w;
    assert.deepEqual(await queryRows(token, N), [1 + L, 1 + L, 1]); // scan, scan (per window), study: the CLS row only
    const dinotxt = tinyVisual({ pool: 'dinotxt' }); // DINO.txt averages the patch tokens: nothing dropped
    assert.deepEqual(await queryRows(dinotxt, N), [1 + L, 1 + L, 1 + N * L]);
  });

  test('fused and explicit attention agree (and opset 21)', async () => {
    const cfg = VARIANTS.down_transitions, tensors = visualWeights(cfg, 5), N = 2, img = image(cfg, N, 9);
    const outs = [];
    for (const [attention, opset] of [['fused', 17], ['explicit', 17], ['fused', 21]] as const) {
      const path = join(dir, `cross_${attention}_${opset}.onnx`);
      buildVisualOnnx(tensors, cfg, path, { attention, opset });
      outs.push(await runVisual(await ort.InferenceSession.create(path), cfg, img, N));
    }
    for (const k of ['embedding_raw', 'cls_attn', 'patch_proj']) {
      for (const o of outs.slice(1)) assert.ok(maxAbs(f32(outs[0][k]), f32(o[k])) < 1e-5, `${k}: ${maxAbs(f32(outs[0][k]), f32(o[k]))}`);
    }
  });

  test('float16 weights are widened; sequence embedding rows follow N', async () => {
    const cfg = VARIANTS.h2_token_seqposemb, tensors = visualWeights(cfg, 3, true), path = join(dir, 'half.onnx');
    buildVisualOnnx(tensors, cfg, path);
    const s = await ort.InferenceSession.create(path);
    const img = image(cfg, 3, 4), out = await runVisual(s, cfg, img, 3), ref = visualRef(tensors, cfg, img, 3);
    assert.ok(maxAbs(f32(out.embedding_raw), [...ref.raw[0]]) < 1e-3);
  });

  test('weights go to external data; the model file holds only the graph', () => {
    const cfg = VARIANTS.dinotxt, path = join(dir, 'ext.onnx');
    const { params } = buildVisualOnnx(visualWeights(cfg, 2), cfg, path);
    const model = decodeModel(readFileSync(path));
    const ext = model.graph.initializer.filter((t) => t.dataLocation === 1);
    assert.ok(ext.length > 0);
    for (const t of ext) {
      const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
      assert.equal(kv.location, 'ext.onnx.data');
      assert.equal(Number(kv.offset) % 64, 0);
    }
    assert.ok(statSync(path + '.data').size >= params * 4 * 0.9);
    assert.ok(statSync(path).size < params * 4 * 0.2);
    assert.deepEqual(model.opsetImport.map((o) => o.domain).sort(), ['', 'com.microsoft']);
  });

  test('RoPE with fused and explicit attention agrees; it changes the result', async () => {
    const cfg = VARIANTS.rope_all_levels, tensors = visualWeights(cfg, 6), N = 2, img = image(cfg, N, 8);
    const outs = [];
    for (const [attention, rope] of [['fused', true], ['explicit', true], ['fused', false]] as const) {
      const path = join(dir, `rope_${attention}_${rope}.onnx`);
      buildVisualOnnx(tensors, { ...cfg, rope }, path, { attention });
      outs.push(await runVisual(await ort.InferenceSession.create(path), cfg, img, N));
    }
    for (const k of ['embedding_raw', 'cls_attn']) assert.ok(maxAbs(f32(outs[0][k]), f32(outs[1][k])) < 1e-5, k);
    assert.ok(maxAbs(f32(outs[0].embedding_raw), f32(outs[2].embedding_raw)) > 1e-2, 'RoPE matters');
  });

  test('refuses mismatched heads clearly', () => {
    const tok = { ...VARIANTS.dinotxt, pool: 'token' as const };
    assert.throws(() => buildVisualOnnx(visualWeights(VARIANTS.dinotxt, 1), tok, join(dir, 'pool.onnx')), /head\.proj\.weight is \[16, 48\]/);
  });
});

/** max |embedding_raw[p] - (Wc . x_p + mean(patch_proj))| with Wc the prefix half of head.proj, x_p the reference's normed prefix. */
function identityGap(m: TensorMap, cfg: VisualConfig, ref: VisualRef, raw: Float32Array, pp: Float32Array): number {
  const proj = f64(m.get('visual.head.proj.weight')), C = cfg.embedDim, E = cfg.projDim, n = pp.length / E;
  const mean = new Float64Array(E);
  for (let i = 0; i < n; i++) for (let e = 0; e < E; e++) mean[e] += pp[i * E + e] / n;
  let gap = 0;
  ref.prefix.forEach((x, p) => {
    for (let e = 0; e < E; e++) {
      let a = mean[e];
      for (let c = 0; c < C; c++) a += proj[e * 2 * C + c] * x[c];
      gap = Math.max(gap, Math.abs(raw[p * E + e] - a));
    }
  });
  return gap;
}

// ---------- text ----------
const TEXT: TextConfig = {
  vocabSize: 50, hidden: 32, layers: 2, heads: 4, intermediate: 64, maxPositions: 24, typeVocab: 2, projDim: 12,
  contextLength: 16, layerNormEps: 1e-12,
};

describe('HLIP text graph', () => {
  const tensors = textWeights(TEXT, 21);
  const L = TEXT.contextLength;
  const batch = [[2, 7, 9, 11, 3], [2, 5, 3], [2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 3]];
  const ids = batch.flatMap((r) => [...r, ...Array(L - r.length).fill(0)]);
  const mask = batch.flatMap((r) => [...r.map(() => 1), ...Array(L - r.length).fill(0)]);
  const feeds = (i: number[], m: number[]) => ({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(i.map(BigInt)), [batch.length, L]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(m.map(BigInt)), [batch.length, L]),
  });

  for (const attention of ['fused', 'explicit'] as const) {
    test(`${attention}: matches the reference, ignores padded positions`, async () => {
      const path = join(dir, `text_${attention}.onnx`);
      buildTextOnnx(tensors, TEXT, path, { attention });
      const s = await ort.InferenceSession.create(path);
      const out = await s.run(feeds(ids, mask));
      assert.deepEqual(out.text_embedding.dims, [batch.length, TEXT.projDim]);
      const raw = f32(out.text_embedding_raw), emb = f32(out.text_embedding), E = TEXT.projDim;
      batch.forEach((_, b) => {
        const ref = textRef(tensors, TEXT, ids.slice(b * L, (b + 1) * L), mask.slice(b * L, (b + 1) * L));
        assert.ok(maxAbs(raw.subarray(b * E, (b + 1) * E), ref) < 1e-4, `row ${b}: ${maxAbs(raw.subarray(b * E, (b + 1) * E), ref)}`);
        assert.ok(Math.abs(Math.hypot(...emb.subarray(b * E, (b + 1) * E)) - 1) < 1e-5);
      });
      const ids2 = ids.map((v, i) => (mask[i] ? v : 17 + (i % 20)));
      const out2 = await s.run(feeds(ids2, mask));
      assert.ok(maxAbs(raw, f32(out2.text_embedding_raw)) < 1e-6, 'pad ids under mask 0 change nothing');
      // Rows 0-1 trimmed to their longest unpadded length (5): the same embeddings.
      const cut = (a: number[]) => [0, 1].flatMap((b) => a.slice(b * L, b * L + 5));
      const out3 = await s.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(cut(ids).map(BigInt)), [2, 5]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(cut(mask).map(BigInt)), [2, 5]),
      });
      assert.ok(maxAbs(raw.subarray(0, 2 * E), f32(out3.text_embedding_raw)) < 1e-5, 'trimmed padding');
    });
  }
});
