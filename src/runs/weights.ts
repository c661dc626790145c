/**
 * What a checkpoint's weights say about the model (variant, pooling, patch size, sequence embedding, RoPE, register
 * tokens, depth / width), read from the state dict's SHAPES: the torch zip's directory and data.pkl are read, tensor
 * storages are not (the optimizer state, about twice the weights, stays on disk; so do the weights themselves,
 * except one-element tensors such as logit_scale). Variant inference is src/hlip/checkpoint's detectModelSpec.
 */
import { open } from 'node:fs/promises';
import { detectModelSpec } from '../hlip/checkpoint';
import { openTorchZip, TensorRef } from '../hlip/checkpoint/torch-zip';
import type { HostTensor, TensorData, TensorMap } from '../hlip/checkpoint/tensor';
import type { DType } from '../hlip/checkpoint/tensor';
import type { OpenClipConfig } from '../hlip/checkpoint/types';
import { CodedError } from '../shared/coded-error';

export interface WeightsInfo {
  path: string;
  format: 'torch-zip' | 'safetensors';
  /** From the training checkpoint dict, when it is one. */
  epoch?: number;
  runName?: string;
  /** Top-level keys of the saved dict ("epoch", "name", "state_dict", "optimizer", "scaler"). */
  topKeys: string[];
  hasOptimizer: boolean;
  tensors: number;
  /** Parameters in the state dict. */
  parameters: number;
  visual?: {
    variant: string;
    pool: 'token' | 'dinotxt';
    patchSize: number[];
    imgSize: number[];
    /** Length of the per-scan sequence position embedding; 0 = none. */
    sequenceEmbedding: number;
    rope: boolean;
    registerTokens: number;
    depth: number;
    width: number;
    heads: number;
    embedDim: number;
  };
  text?: { layers: number; hidden: number; vocabSize: number; embedDim: number };
  warnings: string[];
}

export class WeightsError extends CodedError<'WEIGHTS'> {
  override readonly name = 'WeightsError';
}

const EMPTY: Record<DType, () => TensorData> = {
  float32: () => new Float32Array(0), float16: () => new Uint16Array(0), bfloat16: () => new Uint16Array(0),
  float64: () => new Float64Array(0), int64: () => new BigInt64Array(0), int32: () => new Int32Array(0),
  int16: () => new Int16Array(0), int8: () => new Int8Array(0), uint8: () => new Uint8Array(0), bool: () => new Uint8Array(0),
};

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The state dict inside the saved object (itself, or under state_dict / model), DataParallel prefixes removed. */
function stateDictRefs(root: unknown): Map<string, TensorRef> | undefined {
  const refs = (m: Map<unknown, unknown>) => new Map([...m].filter((e): e is [string, TensorRef] => typeof e[0] === 'string' && e[1] instanceof TensorRef));
  if (!(root instanceof Map)) return undefined;
  for (const key of ['state_dict', 'model']) {
    const inner = root.get(key);
    if (inner instanceof Map && refs(inner).size) return refs(inner);
  }
  const own = refs(root);
  return own.size ? own : undefined;
}

function stripPrefix<T>(m: Map<string, T>): Map<string, T> {
  for (const p of ['module.', '_orig_mod.']) {
    if (m.size && [...m.keys()].every((k) => k.startsWith(p))) m = new Map([...m].map(([k, v]) => [k.slice(p.length), v]));
  }
  return m;
}

/** Reads a safetensors header only (8-byte length + JSON); data offsets are not followed. */
async function safetensorsShapes(path: string): Promise<TensorMap> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (!(n > 1 && n <= Math.min(100_000_000, size - 8))) throw new WeightsError('WEIGHTS', 'The safetensors header length is invalid (truncated or not safetensors)', path);
    const head = Buffer.alloc(n);
    await fh.read(head, 0, n, 8);
    const json = JSON.parse(head.toString('utf8')) as Record<string, { dtype?: string; shape?: number[] }>;
    const t: TensorMap = new Map();
    for (const [k, v] of Object.entries(json)) {
      if (k === '__metadata__' || !Array.isArray(v?.shape)) continue;
      t.set(k, { dtype: 'float32', shape: v.shape, data: new Float32Array(0) });
    }
    return t;
  } finally {
    await fh.close();
  }
}

/**
 * Describes a checkpoint without reading its storages. `modelName` is the run's `model` setting (params.txt), which
 * names the variant where shapes alone cannot (RoPE, attention schedule).
 */
export async function describeWeights(path: string, modelName?: string): Promise<WeightsInfo> {
  const head = Buffer.alloc(2);
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new WeightsError('WEIGHTS', `Cannot open the checkpoint (${e.code ?? e.message})`, path);
  });
  await fh.read(head, 0, 2, 0).finally(() => fh.close());
  let tensors: TensorMap;
  let topKeys: string[] = [];
  let epoch: number | undefined;
  let runName: string | undefined;
  let format: WeightsInfo['format'];
  if (head[0] === 0x50 && head[1] === 0x4b) {
    format = 'torch-zip';
    const z = await openTorchZip(path);
    try {
      if (z.root instanceof Map) {
        topKeys = [...z.root.keys()].map(String);
        const e = z.root.get('epoch');
        if (typeof e === 'number' || typeof e === 'bigint') epoch = Number(e);
        const n = z.root.get('name');
        if (typeof n === 'string') runName = n;
      }
      const refs = stateDictRefs(z.root);
      if (!refs) throw new WeightsError('WEIGHTS', `The checkpoint holds no state dict of tensors (top-level keys: ${topKeys.slice(0, 6).join(', ') || 'none'})`, path);
      // One-element tensors (logit_scale, logit_bias) are read; every other tensor is described by its shape alone.
      const scalars = new Map([...refs].filter(([, r]) => numel(r.shape) === 1));
      const read = (await z.materialize(scalars)) as Map<string, HostTensor>;
      tensors = new Map([...refs].map(([k, r]) => [k, read.get(k) ?? { dtype: r.storage.dtype, shape: r.shape, data: EMPTY[r.storage.dtype]() }]));
    } finally {
      await z.close();
    }
  } else {
    format = 'safetensors';
    tensors = await safetensorsShapes(path);
  }
  tensors = stripPrefix(tensors);
  const cfg: OpenClipConfig | undefined = modelName ? { path, modelCfg: { vision_cfg: { timm_model_name: modelName.replace('clip_', '') } }, raw: { model: modelName } } : undefined;
  const spec = detectModelSpec({ tensors, openClipConfig: cfg, path });
  const v = spec.visual;
  const t = spec.text;
  return {
    path, format, epoch, runName, topKeys,
    hasOptimizer: topKeys.includes('optimizer'),
    tensors: tensors.size,
    parameters: [...tensors.values()].reduce((a, x) => a + numel(x.shape), 0),
    visual: v && {
      variant: v.name, pool: v.pool, patchSize: v.patchSize, imgSize: v.imgSize, sequenceEmbedding: v.maxNumScans, rope: v.rope,
      registerTokens: v.regTokens, depth: v.depth, width: v.embedDim, heads: v.numHeads, embedDim: v.projDim,
    },
    text: t && { layers: t.layers, hidden: t.hidden, vocabSize: t.vocabSize, embedDim: t.projDim },
    warnings: spec.warnings,
  };
}

/** One line: "DINO.txt, patch 6x16x16, seq. embedding 40, 1 register token, depth 12 x 768". */
export function weightsSummary(w: WeightsInfo): string {
  const v = w.visual;
  if (!v) return w.text ? `text tower only (${w.text.layers} layers x ${w.text.hidden})` : 'no HLIP tower';
  return [
    v.variant !== 'custom' ? v.variant : undefined,
    v.pool === 'dinotxt' ? 'DINO.txt pooling' : 'CLS-token pooling',
    `patch ${v.patchSize.join('x')}`,
    v.sequenceEmbedding > 1 ? `sequence embedding ${v.sequenceEmbedding}` : 'no sequence embedding',
    v.rope ? 'RoPE' : undefined,
    v.registerTokens ? `${v.registerTokens} register token${v.registerTokens > 1 ? 's' : ''}` : undefined,
    `depth ${v.depth} x width ${v.width}`,
  ].filter(Boolean).join(', ');
}
