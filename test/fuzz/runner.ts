/**
 * Child process of the fuzz test: mutates each seed file `iterations` times, opens every mutant and prints one JSON
 * summary. Runs out of process so a hang or a crash is seen by the parent as a timeout or an exit code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isVolumeError } from '../../src/volume/errors';
import { openStudy } from '../../src/volume/open';
import { type Mutation, mutate, rng } from './mutate';

const KINDS: Mutation[] = ['bitflip', 'truncate', 'length', 'header-bytes'];

async function main() {
  const [iterArg, seedArg, ...files] = process.argv.slice(2);
  const iterations = Number(iterArg);
  const r = rng(Number(seedArg));
  const dir = mkdtempSync(join(tmpdir(), 'hlip-fuzz-'));
  const outcomes: Record<string, number> = {};
  const untyped: string[] = [];
  try {
    for (const file of files) {
      const src = readFileSync(file);
      for (let i = 0; i < iterations; i++) {
        const kind = KINDS[i % KINDS.length];
        const bytes = mutate(src, kind, r);
        // Keep the name: readers pick NIfTI vs DICOM partly by extension.
        const target = join(dir, basename(file));
        writeFileSync(target, bytes);
        let outcome: string;
        try {
          const study = await openStudy(target, { maxBytes: 512 * 2 ** 20 });
          outcome = study.volumes.every((v) => v.data.length > 0) ? 'volume' : 'empty-volume';
        } catch (e) {
          if (isVolumeError(e)) outcome = e.code;
          else {
            outcome = 'UNTYPED';
            untyped.push(`${basename(file)} ${kind} #${i}: ${e instanceof Error ? e.stack : String(e)}`);
          }
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ outcomes, untyped: untyped.slice(0, 20), untypedCount: untyped.length }));
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(3);
});
