/** The `hlip` command line: headless use of the same readers and model code as the extension. */
import { writeDemoModel } from '../hlip/demo/demo-model';
import { CodedError } from '../shared/coded-error';
import { classifyCommand } from './classify';
import { embedCommand } from './embed';
import { embedTextCommand } from './embed-text';
import { evalCommand } from './eval';
import { mergeCommand } from './merge';
import { importCommand } from './import';
import { infoCommand } from './info';
import { runsCommand } from './runs';
import { runtimeCommand } from './runtime';
import { compareCommand } from './compare';
import { type CliOptions, OPTION_SPECS, UsageError, parseOptions } from './options';

type Out = (s: string) => void;

/** One sub-command: what it takes (options are keys of OPTION_SPECS) and what it does. */
export interface CliCommand {
  name: string;
  /** The synopsis after the command name, and what the command does. */
  synopsis: string;
  summary: string;
  options: readonly string[];
  /** Fewest and most positional arguments. */
  minPositional: number;
  maxPositional: number;
  run(o: CliOptions, out: Out): Promise<number>;
}

const MODEL_RUN = ['model', 'ep', 'cache', 'vocab', 'quiet'] as const;

/** The command table; a new command adds one entry here. */
export const COMMANDS: CliCommand[] = [
  {
    name: 'info', synopsis: '<file|folder>...', minPositional: 1, maxPositional: Infinity, options: ['json'],
    summary: 'describe each series / scan: dims, spacing, orientation, affine, range, warnings',
    run: async (o, out) => (await infoCommand(o.positional, o.json, out), 0),
  },
  {
    name: 'classify', synopsis: '<study> --model <ckpt>', minPositional: 1, maxPositional: 1, options: [...MODEL_RUN, 'json', 'top', 'protocol', 'out', 'precision'],
    summary: 'zero-shot scores for a study (file or folder) with an HLIP checkpoint',
    run: (o, out) => classifyCommand(o.positional[0], o, out),
  },
  {
    name: 'embed', synopsis: '[<study>] --model <ckpt> --out <dir>', minPositional: 0, maxPositional: 1, options: [...MODEL_RUN, 'json', 'protocol', 'out', 'input', 'precision'],
    summary: 'image embedding, CLS attention (+ DINO.txt patch_proj) as .npy + meta.json (--input: a ready tensor)',
    run: embedCommand,
  },
  {
    name: 'embed-text', synopsis: '--model <ckpt> --out <dir> (--prompts <file> | --classes <set>)', minPositional: 0, maxPositional: 0,
    options: [...MODEL_RUN, 'json', 'out', 'prompts', 'classes'],
    summary: 'text embeddings as .npy: token ids, mask, embeddings (+ class averages)',
    run: embedTextCommand,
  },
  {
    name: 'import', synopsis: '<ckpt|folder>', minPositional: 1, maxPositional: 1, options: [...MODEL_RUN.filter((n) => n !== 'model'), 'json', 'precision'],
    summary: 'convert a checkpoint into the model cache now (ONNX + class embeddings); prints it',
    run: (o, out) => importCommand(o.positional[0], o, out),
  },
  {
    name: 'runs', synopsis: '<logs-dir|run|checkpoint>...', minPositional: 1, maxPositional: Infinity, options: ['json'],
    summary: 'training runs (open_clip / HLIP logs): epochs, settings, what the weights are, differing settings, last metrics',
    run: (o, out) => runsCommand(o.positional, o, out),
  },
  {
    name: 'eval', synopsis: '--model <ckpt> [--model <ckpt2>...] --data <dir> --labels <csv> --set <set> --out <dir>', minPositional: 0, maxPositional: 0,
    options: [...MODEL_RUN, 'json', 'out', 'data', 'labels', 'set', 'layout', 'shard', 'draws', 'seed'],
    summary: "zero-shot evaluation with HLIP's metrics (+ bootstrap intervals, paired differences); cached, resumable, shardable",
    run: evalCommand,
  },
  {
    name: 'merge', synopsis: '<shard-dir>... --out <dir>', minPositional: 1, maxPositional: Infinity, options: ['json', 'out', 'draws', 'seed'],
    summary: 'merge the shards of one hlip eval into the report of one unsharded run',
    run: mergeCommand,
  },
  {
    name: 'compare', synopsis: '<study> --model <ckpt> --model <ckpt> [...]', minPositional: 1, maxPositional: 1, options: [...MODEL_RUN, 'json', 'top', 'protocol', 'out'],
    summary: 'two or more checkpoints on one study: score and rank per diagnosis, difference, largest disagreements first',
    run: (o, out) => compareCommand(o.positional[0], o, out),
  },
  {
    name: 'runtime', synopsis: '[--ep <list>]', minPositional: 0, maxPositional: 0, options: ['ep', 'cache', 'json'],
    summary: 'execution providers this machine can load, the one in use and why not the others, onnxruntime version, model cache',
    run: runtimeCommand,
  },
  {
    name: 'demo-model', synopsis: '<dir>', minPositional: 1, maxPositional: 1, options: [],
    summary: 'write a small HLIP-architecture checkpoint with seeded RANDOM weights (untrained: its scores are meaningless)',
    run: async (o, out) => (out(writeDemoModel(o.positional[0])), 0),
  },
];

export function usage(): string {
  const lines = ['usage: hlip <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) {
    lines.push(`  ${c.name} ${c.synopsis}`, `      ${c.summary}`);
    if (c.options.length) lines.push(`      options: ${c.options.map((n) => `--${n}`).join(' ')}`);
  }
  lines.push('', 'options:');
  for (const [name, s] of Object.entries(OPTION_SPECS)) lines.push(`  --${name}${s.type === 'string' ? ' <value>' : ''}`.padEnd(24) + s.help);
  lines.push('', 'Models are converted once to ONNX and cached (--cache DIR, default ~/.cache/hlip-viewer/models, or $HLIP_CACHE).');
  lines.push('A provider in --ep that cannot load falls back to the next one (said on stderr).');
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  const o = parseOptions(rest, `hlip ${cmd.name}`, cmd.options);
  if (o.positional.length < cmd.minPositional) throw new UsageError(`hlip ${cmd.name} ${cmd.synopsis}: missing argument`);
  if (o.positional.length > cmd.maxPositional) throw new UsageError(`hlip ${cmd.name} ${cmd.synopsis}: unexpected argument "${o.positional[cmd.maxPositional]}"`);
  return cmd.run(o, (s) => process.stdout.write(`${s}\n`));
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof UsageError) {
        process.stderr.write(`hlip: ${e.message}\n(hlip --help lists the commands and their options)\n`);
        process.exit(2);
      }
      // Coded errors are the user's input or machine: print the sentence, not a stack.
      process.stderr.write(`hlip: ${e instanceof CodedError ? `${e.message} [${e.code}]` : e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
