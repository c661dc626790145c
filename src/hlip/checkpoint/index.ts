/**
 * loadCheckpoint: a weights file or a model folder -> canonical state dict + the files around it (open_clip config,
 * vocab.txt). The format is decided by content, not by extension (.bin is either torch zip or safetensors in the wild).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { sha256File } from '../../shared/file-hash';
import type { HostTensor, TensorMap } from './tensor';
import { openSource } from './bytes';
import { CheckpointError } from './errors';
import { readSafetensors } from './safetensors';
import { legacyTorchMessage, openTorchZip, TensorRef } from './torch-zip';
import type { Checkpoint, OpenClipConfig } from './types';

export { CheckpointError, isCheckpointError, type CheckpointErrorCode } from './errors';
export { detectModelSpec } from './model-spec';
export { parseSafetensors, readSafetensors, writeSafetensors } from './safetensors';
export { openTorchZip, readTorchZip } from './torch-zip';
export type { Checkpoint, ModelSpec, OpenClipConfig } from './types';

/** Folder lookup order: the HF hub names first, then any weights file. */
const PREFERRED = ['model.safetensors', 'open_clip_model.safetensors', 'pytorch_model.bin', 'open_clip_pytorch_model.bin'];
const WEIGHT_EXTS = ['.safetensors', '.pt', '.pth', '.ckpt', '.bin'];

function findWeights(dir: string): string {
  for (const n of PREFERRED) if (existsSync(join(dir, n))) return join(dir, n);
  const files = readdirSync(dir).sort();
  for (const ext of WEIGHT_EXTS) {
    const f = files.find((n) => n.toLowerCase().endsWith(ext));
    if (f) return join(dir, f);
  }
  throw new CheckpointError('NOT_FOUND', `The folder has no weights file (looked for ${PREFERRED.join(', ')}, then *${WEIGHT_EXTS.join(', *')})`, dir);
}

export { sha256File };

/** open_clip_config.json (HF layout), else `<stem>.json` / config.json when it is an open_clip model config. */
function readConfig(weights: string, warnings: string[]): OpenClipConfig | undefined {
  const dir = dirname(weights);
  const stem = basename(weights, extname(weights));
  for (const name of ['open_clip_config.json', `${stem}.json`, 'config.json']) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      warnings.push(`${name} is not valid JSON (${(e as Error).message}); the model is inferred from the weights alone.`);
      continue;
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) continue;
    const r = raw as Record<string, unknown>;
    const mc = r.model_cfg;
    if (mc && typeof mc === 'object' && !Array.isArray(mc)) {
      const pc = r.preprocess_cfg;
      return { path, modelCfg: mc as Record<string, unknown>, preprocessCfg: pc && typeof pc === 'object' ? (pc as Record<string, unknown>) : undefined, raw: r };
    }
    if ('vision_cfg' in r || 'text_cfg' in r) return { path, modelCfg: r, raw: r };
  }
  return readParamsTxt(weights);
}

/**
 * open_clip's training log `params.txt` ("model: <name>" among "key: value" lines), beside the checkpoint or one folder
 * up (logs/<run>/params.txt with logs/<run>/checkpoints/epoch_N.pt): it names the model, hence the attention schedule.
 */
function readParamsTxt(weights: string): OpenClipConfig | undefined {
  for (const path of [join(dirname(weights), 'params.txt'), join(dirname(dirname(weights)), 'params.txt')]) {
    if (!existsSync(path)) continue;
    const model = /^model:\s*(\S+)\s*$/m.exec(readFileSync(path, 'utf8'))?.[1];
    if (!model) continue;
    const modelCfg = { vision_cfg: { timm_model_name: model.replace('clip_', '') } };
    return { path, modelCfg, raw: { model } };
  }
  return undefined;
}

/** Strips a prefix carried by every key (DataParallel's `module.`, torch.compile's `_orig_mod.`). */
function stripCommonPrefix(t: TensorMap): TensorMap {
  for (const p of ['module.', '_orig_mod.']) {
    if (t.size && [...t.keys()].every((k) => k.startsWith(p))) t = new Map([...t].map(([k, v]) => [k.slice(p.length), v]));
  }
  return t;
}

/** The state dict inside a torch.save object: itself, or under `state_dict` / `model` (training checkpoints). */
function findStateDict(root: unknown, path: string): Map<unknown, unknown> {
  const hasTensors = (m: Map<unknown, unknown>) => [...m.values()].some((v) => v instanceof TensorRef);
  if (root instanceof Map) {
    for (const key of ['state_dict', 'model']) {
      const inner = root.get(key);
      if (inner instanceof Map && hasTensors(inner)) return inner;
    }
    if (hasTensors(root)) return root;
  }
  const keyName = (k: unknown) => (typeof k === 'string' ? k : typeof k === 'number' ? String(k) : `a ${typeof k} key`);
  const what = root instanceof Map ? `a dict with keys ${[...root.keys()].slice(0, 6).map(keyName).join(', ')}` : Array.isArray(root) ? 'a list' : typeof root;
  throw new CheckpointError('NOT_HLIP', `The checkpoint holds ${what}, with no state dict of tensors at the top level or under state_dict / model`, path);
}

async function sniff(path: string): Promise<'safetensors' | 'torch-zip'> {
  const src = await openSource(path);
  try {
    const head = await src.read(0, Math.min(src.size, 512), 'the file header');
    if (head[0] === 0x50 && head[1] === 0x4b) return 'torch-zip';
    const legacy = legacyTorchMessage(head);
    if (legacy) throw new CheckpointError('UNSUPPORTED', legacy, path);
    if (head.length > 8 && head[8] === 0x7b /* '{' */) return 'safetensors';
    throw new CheckpointError('CORRUPT', 'The file is neither safetensors nor a PyTorch zip checkpoint (or it is damaged)', path);
  } finally {
    await src.close();
  }
}

export async function loadCheckpoint(pathOrDir: string): Promise<Checkpoint> {
  let st;
  try {
    st = statSync(pathOrDir);
  } catch {
    throw new CheckpointError('NOT_FOUND', 'No checkpoint file or folder at this path', pathOrDir);
  }
  const path = st.isDirectory() ? findWeights(pathOrDir) : pathOrDir;
  const format = await sniff(path);
  let tensors: TensorMap;
  let metadata: Record<string, string> = {};
  if (format === 'safetensors') {
    const s = await readSafetensors(path);
    tensors = s.tensors;
    metadata = s.metadata;
  } else {
    const z = await openTorchZip(path);
    try {
      const sd = findStateDict(z.root, path);
      const only = new Map([...sd].filter(([k, v]) => typeof k === 'string' && v instanceof TensorRef));
      tensors = (await z.materialize(only)) as Map<string, HostTensor>;
    } finally {
      await z.close();
    }
  }
  const warnings: string[] = [];
  const openClipConfig = readConfig(path, warnings);
  const vocab = join(dirname(path), 'vocab.txt');
  return {
    tensors: stripCommonPrefix(tensors),
    format,
    path,
    files: [path, ...(openClipConfig ? [openClipConfig.path] : [])],
    sha256: await sha256File(path),
    metadata,
    openClipConfig,
    vocabPath: existsSync(vocab) ? vocab : undefined,
    warnings,
  };
}
