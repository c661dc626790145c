/**
 * Command-line options on node:util parseArgs. Each option is declared once here; each command says which of them it
 * takes (src/cli/main.ts), so an option a command does not take is an error naming the options it does take.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isPrecision, PRECISIONS, type Precision } from '../hlip/graph/precision';

export interface CliOptions {
  positional: string[];
  model?: string;
  /** Every --model given, in order (commands that compare or evaluate several). */
  models: string[];
  json: boolean;
  quiet: boolean;
  /** Execution providers in order (`--ep cuda,cpu`); default: the platform's (see hlip/inference/onnx-sessions.ts). */
  ep?: string[];
  protocol?: string;
  top: number;
  /** Converted-model cache (ONNX + class embeddings), shared with nothing else. */
  cache: string;
  outFile?: string;
  outDir?: string;
  input?: string;
  prompts?: string;
  classes?: string;
  vocab?: string;
  /** Precision of the towers (--precision; default fp32, see hlip/graph/precision.ts). */
  precision: Precision;
  /** Every option as parsed, for command-specific ones (declared in OPTION_SPECS). */
  values: Record<string, string | boolean | string[] | undefined>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** One line for the usage text. */
  help: string;
}

/** Every option any command takes. */
export const OPTION_SPECS: Record<string, OptionSpec> = {
  model: { type: 'string', multiple: true, help: 'checkpoint (.safetensors, .pt, .bin) or model folder' },
  ep: { type: 'string', help: 'execution providers in order, e.g. cuda,cpu' },
  protocol: { type: 'string', help: 'mri | head-ct | chest-ct (default: from the study)' },
  top: { type: 'string', help: 'rows per set to print (default 10)' },
  cache: { type: 'string', help: 'converted-model cache folder' },
  out: { type: 'string', help: 'output file or folder' },
  input: { type: 'string', help: 'a ready float32 [1,scans,1,D,H,W] .npy tensor' },
  prompts: { type: 'string', help: 'prompts file, one a line' },
  classes: { type: 'string', help: 'a zero-shot set: mri | ct | pubbrain5 | rsna | ctrate' },
  vocab: { type: 'string', help: "the model's vocab.txt" },
  precision: { type: 'string', help: 'fp32 (default, exact) | int8 (faster on CPU, converted once)' },
  data: { type: 'string', help: 'eval: folder of the studies' },
  labels: { type: 'string', help: 'eval: labels CSV (study + one 0/1 column per class)' },
  set: { type: 'string', help: 'eval: mri | ct | rsna | pubbrain5 | ctrate' },
  layout: { type: 'string', help: "eval: hlip (<study>/<scan>/img.pt, HLIP's) or raw (DICOM / NIfTI)" },
  shard: { type: 'string', help: 'eval: i/n, this run takes every n-th study from the i-th' },
  draws: { type: 'string', help: 'eval, merge: bootstrap draws (default 1000)' },
  seed: { type: 'string', help: 'eval, merge: bootstrap seed (default 0)' },
  json: { type: 'boolean', help: 'machine-readable output' },
  quiet: { type: 'boolean', help: 'no progress on stderr' },
};

export class UsageError extends Error {}

/** Parses `args` for `command`, which takes the options named in `accepted` (keys of OPTION_SPECS). */
export function parseOptions(args: string[], command = 'hlip', accepted: readonly string[] = Object.keys(OPTION_SPECS)): CliOptions {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const name of accepted) {
    const spec = OPTION_SPECS[name];
    if (!spec) throw new Error(`${command}: option --${name} is not declared in OPTION_SPECS`);
    options[name] = { type: spec.type, multiple: spec.multiple === true };
  }
  const takes = accepted.length ? accepted.map((n) => `--${n}`).join(', ') : 'none';
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = /'(--?[\w-]+)/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command} does not take ${unknown ?? 'that option'}; its options: ${takes}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = unknown ?? 'an option';
      throw new UsageError(OPTION_SPECS[flag.replace(/^--/, '')]?.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`);
    }
    throw new UsageError(`${command}: ${err.message}`);
  }
  const v = parsed.values as CliOptions['values'];
  const str = (name: string): string | undefined => {
    const x = v[name];
    return Array.isArray(x) ? x[x.length - 1] : typeof x === 'string' ? x : undefined;
  };
  const models = (v.model as string[] | undefined) ?? [];
  const protocol = str('protocol');
  if (protocol && !['mri', 'head-ct', 'chest-ct'].includes(protocol)) throw new UsageError('--protocol is one of mri, head-ct, chest-ct');
  const precision = str('precision') ?? 'fp32';
  if (!isPrecision(precision)) throw new UsageError(`--precision is one of ${PRECISIONS.join(', ')}`);
  const top = str('top') !== undefined ? Number(str('top')) : 10;
  if (!Number.isInteger(top) || top < 1) throw new UsageError('--top takes a positive whole number');
  return {
    positional: parsed.positionals,
    model: models[models.length - 1],
    models,
    json: v.json === true,
    quiet: v.quiet === true || v.json === true,
    ep: str('ep')?.split(',').map((s) => s.trim()).filter(Boolean),
    protocol,
    top,
    cache: str('cache') ?? process.env.HLIP_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hlip-viewer', 'models'),
    outFile: str('out'),
    outDir: str('out'),
    input: str('input'),
    prompts: str('prompts'),
    classes: str('classes'),
    vocab: str('vocab'),
    precision,
    values: v,
  };
}
