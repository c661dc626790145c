/** Command-line flags shared by the `hlip` sub-commands: `--name value` pairs and boolean switches. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CliOptions {
  positional: string[];
  model?: string;
  json: boolean;
  quiet: boolean;
  /** Execution providers in order (`--ep cuda,cpu`); default: the platform's (see hlip/runtime.ts). */
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
}

const VALUED = new Set(['--model', '--ep', '--protocol', '--top', '--cache', '--out', '--input', '--prompts', '--classes', '--vocab']);
const SWITCHES = new Set(['--json', '--quiet']);

export class UsageError extends Error {}

export function parseOptions(args: string[]): CliOptions {
  const v: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUED.has(a)) {
      if (i + 1 >= args.length) throw new UsageError(`${a} needs a value`);
      v[a] = args[++i];
    } else if (SWITCHES.has(a)) flags.add(a);
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  if (v['--protocol'] && !['mri', 'head-ct', 'chest-ct'].includes(v['--protocol'])) throw new UsageError('--protocol is one of mri, head-ct, chest-ct');
  const top = v['--top'] ? Number(v['--top']) : 10;
  if (!Number.isInteger(top) || top < 1) throw new UsageError('--top takes a positive whole number');
  return {
    positional,
    model: v['--model'],
    json: flags.has('--json'),
    quiet: flags.has('--quiet') || flags.has('--json'),
    ep: v['--ep']?.split(',').map((s) => s.trim()).filter(Boolean),
    protocol: v['--protocol'],
    top,
    cache: v['--cache'] ?? process.env.HLIP_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hlip-viewer', 'models'),
    outFile: v['--out'],
    outDir: v['--out'],
    input: v['--input'],
    prompts: v['--prompts'],
    classes: v['--classes'],
    vocab: v['--vocab'],
  };
}
