/** The `hlip` command line: headless use of the same readers and model code as the extension. */
import { writeDemoModel } from '../hlip/demo/demo-model';
import { classifyCommand } from './classify';
import { embedCommand } from './embed';
import { embedTextCommand } from './embed-text';
import { importCommand } from './import';
import { infoCommand } from './info';
import { UsageError, parseOptions } from './options';
import { CodedError } from '../shared/coded-error';

const USAGE = `usage: hlip <command> [options]

commands:
  info <file|folder>... [--json]     describe each series / scan: dims, spacing, orientation, affine, range, warnings
  classify <study> --model <ckpt>    zero-shot scores for a study (file or folder) with an HLIP checkpoint
           [--json] [--top N] [--ep cuda,cpu] [--protocol mri|head-ct|chest-ct] [--out results.json]
  embed [<study>] --model <ckpt> --out <dir>   image embedding, CLS attention (+ DINO.txt patch_proj) as .npy + meta.json
        [--input <tensor.npy>] [--ep ...] [--protocol ...]   (--input: a ready float32 [1,scans,1,D,H,W] tensor instead of a study)
  embed-text --model <ckpt> --out <dir>        text embeddings as .npy: token ids, mask, embeddings (+ class averages)
        (--prompts <file> | --classes mri|ct|pubbrain5|rsna) [--vocab vocab.txt]
  import <ckpt|folder> [--vocab F]   convert a checkpoint into the model cache now (ONNX + class embeddings); prints it
  demo-model <dir>                   write a small HLIP-architecture checkpoint with seeded RANDOM weights (untrained:
                                     for trying the pipeline; its scores are meaningless)

options:
  --model    a checkpoint (.safetensors, .pt, .bin) or a model folder (HF layout: model.safetensors,
             open_clip_config.json, vocab.txt); converted once to ONNX and cached (--cache DIR, default
             ~/.cache/hlip-viewer/models, or $HLIP_CACHE)
  --ep       execution providers in order; a provider that cannot load falls back to the next (said on stderr)
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const o = parseOptions(rest);
  const [first] = o.positional;
  switch (cmd) {
    case 'info':
      if (!first) break;
      await infoCommand(o.positional, o.json, out);
      return 0;
    case 'classify':
      if (!first) break;
      return classifyCommand(first, o, out);
    case 'embed':
      return embedCommand(o, out);
    case 'embed-text':
      return embedTextCommand(o, out);
    case 'import':
      if (!first) break;
      return importCommand(first, o, out);
    case 'demo-model':
      if (!first) break;
      out(writeDemoModel(first));
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`hlip: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    // Coded errors are the user's input or machine: print the sentence, not a stack.
    process.stderr.write(`hlip: ${e instanceof CodedError ? `${e.message} [${e.code}]` : e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
