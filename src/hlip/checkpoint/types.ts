import type { TextConfig, VisualConfig } from '../model-config';
import type { TensorMap } from './tensor';

/** open_clip's model config: HF hub layout {model_cfg, preprocess_cfg} or a plain model_configs/*.json. */
export interface OpenClipConfig {
  path: string;
  /** `model_cfg` of the HF layout, or the plain config itself ({embed_dim, vision_cfg, text_cfg, ...}). */
  modelCfg: Record<string, unknown>;
  preprocessCfg?: Record<string, unknown>;
  /** The whole JSON as read. */
  raw: Record<string, unknown>;
}

export interface Checkpoint {
  /** State dict with canonical names (unwrapped from state_dict/model, `module.` stripped). */
  tensors: TensorMap;
  format: 'safetensors' | 'torch-zip';
  /** The weights file. */
  path: string;
  /** Every file read: the weights file first, then the config. */
  files: string[];
  /** Hex SHA-256 of the weights file (identifies converted ONNX caches). */
  sha256: string;
  /** safetensors `__metadata__` (e.g. hlip_untrained for the embedded demo model); empty for torch files. */
  metadata: Record<string, string>;
  openClipConfig?: OpenClipConfig;
  /** vocab.txt beside the weights (BERT WordPiece vocabulary), when present. */
  vocabPath?: string;
  /** Things a user should know that did not stop loading (e.g. an unreadable config file). */
  warnings: string[];
}

export interface ModelSpec {
  visual?: VisualConfig;
  text?: TextConfig;
  /** The raw `logit_scale` parameter: the LOG of the scale (CLIP multiplies cosines by exp(logitScale)). */
  logitScale?: number;
  /** `logit_bias` (SigLIP-style dual models), added after scaling. */
  logitBias?: number;
  warnings: string[];
}
