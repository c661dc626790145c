/**
 * `hlip compare <study> --model A --model B [...]`: several checkpoints on one study, side by side (score and rank per
 * diagnosis, the difference, largest disagreements first). Each checkpoint's scores are exactly `hlip classify`'s.
 */
import { writeFileSync } from 'node:fs';
import { openModel } from '../hlip/classify/study-classifier';
import { convertModel } from '../hlip/convert/model-converter';
import { ModelCatalogue } from '../hlip/models/model-catalogue';
import type { Protocol } from '../hlip/preprocess/study-input';
import { compareOnStudy } from '../runs/compare-on-study';
import { openStudy } from '../volume/open';
import { startCliEngine } from './model-runtime';
import { type CliOptions, UsageError } from './options';

export async function compareCommand(studyPath: string, o: CliOptions, out: (s: string) => void): Promise<number> {
  if (o.models.length < 2) throw new UsageError('hlip compare takes two or more --model checkpoints');
  const log = (s: string) => o.quiet || process.stderr.write(`${s}\n`);
  const study = await openStudy(studyPath, { wholeSeries: true });
  const engine = await startCliEngine(o);
  try {
    const catalogue = new ModelCatalogue(o.cache);
    const { comparison, runs } = await compareOnStudy(study.volumes, o.models, {
      engine,
      async load(path, onStage) {
        let last = '';
        const entry = await convertModel(catalogue, path, { engine, vocabPath: o.vocab, onProgress: (s: string) => s !== last && onStage((last = s)) });
        await engine.load({ visualPath: entry.visualPath, textPath: entry.textPath });
        return openModel(catalogue, entry);
      },
    }, {
      protocol: o.protocol as Protocol | undefined,
      onUpdate: (states) => {
        const s = states.find((x) => x.state === 'converting' || x.state === 'classifying');
        if (s) log(`${s.label}: ${s.state}${s.message ? ` (${s.message})` : ''}`);
      },
    });
    const results = runs.map((r) => r?.classification.results ?? null);
    if (o.json) out(JSON.stringify({ study: study.name, comparison, results }, null, 1));
    else {
      out(`study  ${study.name}`);
      comparison.checkpoints.forEach((c, i) => out(`  [${i + 1}] ${c.label}  ${c.ok ? `${c.variant} on ${c.provider}${c.untrained ? '  (UNTRAINED weights)' : ''}` : `FAILED: ${c.error?.message}`}`));
      for (const s of comparison.sets) {
        out(`\n${s.title}: ${Math.min(o.top, s.rows.length)} largest disagreements of ${s.rows.length}`);
        out(`  ${'diagnosis'.padEnd(40)} ${comparison.checkpoints.map((_, i) => `[${i + 1}] score rank`.padStart(17)).join(' ')}  difference`);
        for (const r of s.rows.slice(0, o.top)) {
          const cells = r.scores.map((v, i) => `${v === null ? '-' : v.toFixed(4)} ${String(r.ranks[i] ?? '-').padStart(4)}`.padStart(17));
          out(`  ${r.className.slice(0, 40).padEnd(40)} ${cells.join(' ')}  ${r.difference >= 0 ? '+' : ''}${r.difference.toFixed(4)}`);
        }
      }
    }
    if (o.outFile) writeFileSync(o.outFile, JSON.stringify({ study: study.name, comparison, results }, null, 1));
    // Every checkpoint failing is a failure; some failing is reported above and in the JSON.
    return comparison.checkpoints.some((c) => c.ok) ? 0 : 1;
  } finally {
    await engine.dispose();
  }
}
