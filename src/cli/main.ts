/** The `hlip` command line: headless use of the same readers and model code as the extension. */
import { isVolumeError } from '../volume/errors';
import { infoCommand } from './info';

const USAGE = `usage: hlip <command> [options]

commands:
  info <file|folder>... [--json]   describe each series / scan: dims, spacing, orientation, affine, range, warnings
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const args = rest.filter((a) => !a.startsWith('--'));
  const out = (s: string) => process.stdout.write(`${s}\n`);
  switch (cmd) {
    case 'info':
      if (args.length === 0) break;
      await infoCommand(args, flags.has('--json'), out);
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
    // Typed reader errors are the user's input problem: print the sentence, not a stack.
    process.stderr.write(`hlip: ${isVolumeError(e) ? `${e.message} [${e.code}]` : e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
