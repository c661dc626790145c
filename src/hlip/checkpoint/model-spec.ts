/**
 * Variant inference: the VisualConfig / TextConfig a checkpoint's weights imply (docs/hlip-model.md, "Variant
 * inference"). Shapes come from the weights; what weights cannot tell (heads, attention schedule, RoPE) comes from the
 * open_clip config, else from the known variant with the same structure, else a default with a warning.
 */
import { KNOWN_VARIANTS, knownVariant, scheduleOf, type AttentionLevel, type TextConfig, type VisualConfig } from '../model-config';
import { toFloat32, type HostTensor, type TensorMap } from './tensor';
import { CheckpointError } from './errors';
import type { Checkpoint, ModelSpec, OpenClipConfig } from './types';

type Cfg = Record<string, unknown>;
const obj = (v: unknown): Cfg | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Cfg) : undefined);
const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Thrown for weights whose shapes do not fit the tower they are named for. */
class Mismatch extends Error {}

function expectShape(t: TensorMap, name: string, shape: number[]): HostTensor {
  const x = t.get(name);
  if (!x) throw new Mismatch(`${name} is missing`);
  if (!same(x.shape, shape)) throw new Mismatch(`${name} has shape [${x.shape}], expected [${shape}]`);
  return x;
}

const countBlocks = (t: TensorMap, prefix: string, probe: string): number => {
  let n = 0;
  while (t.has(`${prefix}${n}.${probe}`)) n++;
  return n;
};

/** Structure a known variant must share with the weights for its schedule to apply. */
interface Structure {
  depth: number;
  embedDim: number;
  patchSize: number[];
  grid: number[];
  pool: 'token' | 'dinotxt';
  regTokens: number;
  maxNumScans: number;
}

function structureDiff(v: VisualConfig, s: Structure, withWidth: boolean): string[] {
  const d: string[] = [];
  if (v.depth !== s.depth) d.push(`depth ${s.depth} (variant ${v.depth})`);
  if (withWidth && v.embedDim !== s.embedDim) d.push(`width ${s.embedDim} (variant ${v.embedDim})`);
  if (!same(v.patchSize, s.patchSize)) d.push(`patch [${s.patchSize}] (variant [${v.patchSize}])`);
  const vGrid = v.imgSize.map((x, i) => Math.floor(x / v.patchSize[i]));
  if (!same(vGrid, s.grid)) d.push(`grid [${s.grid}] (variant [${vGrid}])`);
  if (v.pool !== s.pool) d.push(`pool ${s.pool} (variant ${v.pool})`);
  if (v.regTokens !== s.regTokens) d.push(`${s.regTokens} register tokens (variant ${v.regTokens})`);
  // A variant with max_num_scans <= 1 may or may not keep a one-row sequence table.
  if (v.maxNumScans > 1 ? v.maxNumScans !== s.maxNumScans : s.maxNumScans > 1) d.push(`sequence table ${s.maxNumScans} (variant ${v.maxNumScans})`);
  return d;
}

function inferVisual(t: TensorMap, cfg: OpenClipConfig | undefined, warnings: string[]): VisualConfig {
  const pe = t.get('visual.trunk.patch_embed.proj.weight');
  if (!pe) throw new Mismatch('visual.trunk.patch_embed.proj.weight is missing');
  if (pe.shape.length !== 5 || pe.shape[1] !== 1) {
    throw new Mismatch(`visual.trunk.patch_embed.proj.weight is [${pe.shape}], expected a 3D single-channel conv [C, 1, pd, ph, pw]`);
  }
  const C = pe.shape[0];
  const patchSize = pe.shape.slice(2) as [number, number, number];
  expectShape(t, 'visual.trunk.patch_embed.proj.bias', [C]);
  expectShape(t, 'visual.trunk.cls_token', [1, 1, C]);
  const pos = t.get('visual.trunk.spatial_posemb');
  if (!pos || pos.shape.length !== 5 || pos.shape[0] !== 1 || pos.shape[4] !== C) {
    throw new Mismatch(`visual.trunk.spatial_posemb is ${pos ? `[${pos.shape}]` : 'missing'}, expected [1, d, h, w, ${C}]`);
  }
  const grid = pos.shape.slice(1, 4);
  const reg = t.get('visual.trunk.reg_token');
  const regTokens = reg ? reg.shape[1] : 0;
  if (reg) expectShape(t, 'visual.trunk.reg_token', [1, regTokens, C]);
  const seq = t.get('visual.trunk.sequential_posemb');
  const maxNumScans = seq ? seq.shape[1] : 0;
  if (seq) expectShape(t, 'visual.trunk.sequential_posemb', [1, maxNumScans, C]);

  const depth = countBlocks(t, 'visual.trunk.blocks.', 'attn.qkv.weight');
  if (depth === 0) throw new Mismatch('visual.trunk.blocks.0.attn.qkv.weight is missing');
  const hidden = t.get('visual.trunk.blocks.0.mlp.fc1.weight')?.shape[0] ?? 0;
  for (let b = 0; b < depth; b++) {
    const p = `visual.trunk.blocks.${b}.`;
    for (const n of ['norm1', 'norm2']) (expectShape(t, `${p}${n}.weight`, [C]), expectShape(t, `${p}${n}.bias`, [C]));
    expectShape(t, `${p}attn.qkv.weight`, [3 * C, C]);
    expectShape(t, `${p}attn.qkv.bias`, [3 * C]);
    expectShape(t, `${p}attn.proj.weight`, [C, C]);
    expectShape(t, `${p}attn.proj.bias`, [C]);
    expectShape(t, `${p}mlp.fc1.weight`, [hidden, C]);
    expectShape(t, `${p}mlp.fc1.bias`, [hidden]);
    expectShape(t, `${p}mlp.fc2.weight`, [C, hidden]);
    expectShape(t, `${p}mlp.fc2.bias`, [C]);
  }
  expectShape(t, 'visual.trunk.norm.weight', [C]);
  expectShape(t, 'visual.trunk.norm.bias', [C]);
  const head = t.get('visual.head.proj.weight');
  if (!head || head.shape.length !== 2 || (head.shape[1] !== C && head.shape[1] !== 2 * C)) {
    throw new Mismatch(`visual.head.proj.weight is ${head ? `[${head.shape}]` : 'missing'}, expected [E, ${C}] (token) or [E, ${2 * C}] (DINO.txt)`);
  }
  const pool = head.shape[1] === C ? 'token' : 'dinotxt';
  const s: Structure = { depth, embedDim: C, patchSize, grid, pool, regTokens, maxNumScans };

  // Which known variant supplies the schedule: the one the config names, else one with the same structure.
  const modelCfg = cfg?.modelCfg;
  const cfgName = obj(modelCfg?.vision_cfg)?.timm_model_name;
  let variant: VisualConfig | undefined;
  if (typeof cfgName === 'string') {
    const named = knownVariant(cfgName);
    if (!named) warnings.push(`The config names the vision model ${cfgName}, which is not a known HLIP variant; matching by structure.`);
    else {
      const diff = structureDiff(named, s, false);
      if (named.depth !== depth) warnings.push(`The config names ${cfgName} but the weights have ${diff.join(', ')}; its attention schedule does not apply.`);
      else {
        if (diff.length) warnings.push(`The weights differ from ${cfgName}: ${diff.join(', ')}; the weights' shapes are used.`);
        variant = named;
      }
    }
  }
  if (!variant) {
    const candidates = Object.keys(KNOWN_VARIANTS)
      .map((n) => knownVariant(n)!)
      .filter((v) => structureDiff(v, s, true).length === 0)
      .sort((a, b) => Number(a.rope) - Number(b.rope)); // RoPE leaves no trace in the weights: assume the plain one
    variant = candidates[0];
    const others = candidates.filter((v) => !v.rope && v !== variant && v.schedule.join() !== variant!.schedule.join());
    if (variant && others.length) {
      warnings.push(`The weights match ${variant.name} and ${others.map((v) => v.name).join(', ')}, which differ in attention schedule; using ${variant.name}. Put an open_clip_config.json naming the model beside the checkpoint to choose.`);
    }
    const rope = candidates.find((v) => v.rope);
    if (variant && rope) {
      warnings.push(`No config names the model, and ${rope.name} has exactly these weights (RoPE leaves no trace in them); building it without RoPE. If it is that model, put its open_clip_config.json beside the checkpoint.`);
    }
  }

  let schedule: AttentionLevel[];
  if (variant) schedule = variant.schedule;
  else {
    schedule = scheduleOf(depth, [], [...Array(depth).keys()].filter((i) => i % 3 !== 2), [...Array(depth).keys()].filter((i) => i % 3 === 2));
    warnings.push(`The visual tower (depth ${depth}, width ${C}, patch [${patchSize}]) matches no known HLIP variant and no config names one; assuming scan-level attention with every third block at study level.`);
  }

  const hv = obj(modelCfg?.hlip_visual) ?? obj(cfg?.raw.hlip_visual);
  let numHeads = posInt(hv?.num_heads);
  if (numHeads && C % numHeads !== 0) {
    warnings.push(`The config's num_heads ${numHeads} does not divide the width ${C}; ignored.`);
    numHeads = undefined;
  }
  if (!numHeads && variant && variant.embedDim === C) numHeads = variant.numHeads;
  if (!numHeads) {
    numHeads = C % 64 === 0 ? C / 64 : 1;
    warnings.push(`The number of visual attention heads is not in the config; assuming ${numHeads} (64-dimensional heads).`);
  }

  return {
    name: variant?.name ?? 'custom',
    depth,
    embedDim: C,
    numHeads,
    mlpRatio: hidden / C,
    imgSize: grid.map((g, i) => g * patchSize[i]) as [number, number, number],
    patchSize,
    maxNumScans,
    pool,
    regTokens,
    schedule,
    projDim: head.shape[0],
    rope: variant?.rope ?? false,
  };
}

function inferText(t: TensorMap, cfg: OpenClipConfig | undefined, warnings: string[]): TextConfig {
  const e = 'text.transformer.embeddings.';
  const word = t.get(`${e}word_embeddings.weight`);
  if (!word || word.shape.length !== 2) throw new Mismatch(`${e}word_embeddings.weight is ${word ? `[${word.shape}]` : 'missing'}`);
  const [vocabSize, H] = word.shape;
  const posW = t.get(`${e}position_embeddings.weight`);
  const typeW = t.get(`${e}token_type_embeddings.weight`);
  if (!posW || !same(posW.shape.slice(1), [H])) throw new Mismatch(`${e}position_embeddings.weight is ${posW ? `[${posW.shape}]` : 'missing'}`);
  if (!typeW || !same(typeW.shape.slice(1), [H])) throw new Mismatch(`${e}token_type_embeddings.weight is ${typeW ? `[${typeW.shape}]` : 'missing'}`);
  expectShape(t, `${e}LayerNorm.weight`, [H]);
  expectShape(t, `${e}LayerNorm.bias`, [H]);
  const layers = countBlocks(t, 'text.transformer.encoder.layer.', 'attention.self.query.weight');
  if (layers === 0) throw new Mismatch('text.transformer.encoder.layer.0.* is missing');
  const intermediate = t.get('text.transformer.encoder.layer.0.intermediate.dense.weight')?.shape[0] ?? 0;
  for (let l = 0; l < layers; l++) {
    const p = `text.transformer.encoder.layer.${l}.`;
    const lin = (n: string, out: number, inp: number) => (expectShape(t, `${p}${n}.weight`, [out, inp]), expectShape(t, `${p}${n}.bias`, [out]));
    for (const q of ['query', 'key', 'value']) lin(`attention.self.${q}`, H, H);
    lin('attention.output.dense', H, H);
    lin('intermediate.dense', intermediate, H);
    lin('output.dense', H, intermediate);
    for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) (expectShape(t, `${p}${n}.weight`, [H]), expectShape(t, `${p}${n}.bias`, [H]));
  }
  const proj = t.get('text.proj.weight');
  if (!proj || proj.shape.length !== 2 || proj.shape[1] !== H) {
    const mlp = [...t.keys()].some((k) => /^text\.proj\.\d+\./.test(k));
    throw new Mismatch(mlp ? 'text.proj is an MLP; only a linear projection (hf_proj_type "linear") is supported' : `text.proj.weight is ${proj ? `[${proj.shape}]` : 'missing'}, expected [E, ${H}]`);
  }

  const modelCfg = cfg?.modelCfg;
  const ht = obj(modelCfg?.hlip_text) ?? obj(cfg?.raw.hlip_text);
  let heads = posInt(ht?.heads) ?? posInt(ht?.num_attention_heads);
  if (heads && H % heads !== 0) heads = undefined;
  if (!heads) heads = H % 64 === 0 ? H / 64 : 1; // BERT-base and -large both use 64-d heads
  const maxPositions = posW.shape[0];
  let contextLength = posInt(obj(modelCfg?.text_cfg)?.context_length) ?? 256;
  if (contextLength > maxPositions) {
    warnings.push(`The text context length ${contextLength} exceeds the ${maxPositions} position embeddings; using ${maxPositions}.`);
    contextLength = maxPositions;
  }
  return { vocabSize, hidden: H, layers, heads, intermediate, maxPositions, typeVocab: typeW.shape[0], projDim: proj.shape[0], contextLength, layerNormEps: 1e-12 };
}

const scalar = (t: TensorMap, name: string): number | undefined => {
  const x = t.get(name);
  return x && x.data.length === 1 ? toFloat32(x)[0] : undefined;
};

/** The model a checkpoint holds. Throws NOT_HLIP when neither tower is recognisable. */
export function detectModelSpec(ckpt: Pick<Checkpoint, 'tensors' | 'openClipConfig'> & Partial<Pick<Checkpoint, 'path' | 'warnings'>>): ModelSpec {
  const t = ckpt.tensors;
  const warnings = [...(ckpt.warnings ?? [])];
  const problems: string[] = [];
  const tower = <T>(prefix: string, what: string, f: () => T): T | undefined => {
    if (![...t.keys()].some((k) => k.startsWith(prefix))) return undefined;
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Mismatch)) throw e;
      problems.push(`${what}: ${e.message}`);
      return undefined;
    }
  };
  const visual = tower('visual.', 'visual tower', () => inferVisual(t, ckpt.openClipConfig, warnings));
  const text = tower('text.', 'text tower', () => inferText(t, ckpt.openClipConfig, warnings));
  if (!visual && !text) {
    const sample = [...t.keys()].slice(0, 4).join(', ');
    throw new CheckpointError(
      'NOT_HLIP',
      `This is not an HLIP checkpoint: expected an HLIP visual tower (visual.trunk.patch_embed.proj.weight [C,1,pd,ph,pw], visual.trunk.blocks.N.*, visual.head.proj.weight) or a BERT text tower (text.transformer.*, text.proj.weight)${problems.length ? `; ${problems.join('; ')}` : ''}; found ${t.size} tensors such as ${sample || '(none)'}`,
      ckpt.path,
    );
  }
  for (const p of problems) warnings.push(`The ${p}; that tower is not usable.`);
  if (visual && text && visual.projDim !== text.projDim) {
    warnings.push(`The visual embedding (${visual.projDim}) and text embedding (${text.projDim}) sizes differ; they cannot be compared.`);
  }
  return { visual, text, logitScale: scalar(t, 'logit_scale'), logitBias: scalar(t, 'logit_bias'), warnings };
}
