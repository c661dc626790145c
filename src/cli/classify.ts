/** `hlip classify <study> --model <checkpoint|folder>`: the editor's classification pipeline, headless. */
import { writeFileSync } from 'node:fs';
import { classifyStudy } from '../hlip/classify/study-classifier';
import { type ModelRuntime, openModelRuntime } from './model-runtime';
import { openStudy } from '../volume/open';
import type { Protocol } from '../hlip/preprocess/study-input';
import type { CliOptions } from './options';

export async function classifyCommand(studyPath: string, o: CliOptions, out: (s: string) => void): Promise<number> {
  const rt: ModelRuntime = await openModelRuntime(o);
  try {
    const study = await openStudy(studyPath, { wholeSeries: true });
    const c = await classifyStudy(study.volumes, rt.model, rt.engine, {
      protocol: o.protocol as Protocol | undefined,
      onProgress: (m) => o.quiet || process.stderr.write(`${m}\n`),
    });
    const r = c.results;
    if (o.json) out(JSON.stringify(r, null, 1));
    else {
      if (r.model.untrained) out('!! UNTRAINED demo weights: these scores are meaningless (use a downloaded or imported checkpoint).');
      out(`model     ${r.model.name} (${r.model.variant})`);
      out(`provider  ${r.provider}${r.fallback ? `  [fallback: ${r.fallback}]` : ''}, ${r.precision}`);
      out(`study     ${study.name}: ${r.scans.length} scan(s), ${r.protocol}: ${r.scans.map((s) => s.name + (s.window ? ` [${s.window}]` : '')).join(', ')}`);
      out(`timings   pre-processing ${r.timings.preprocessMs.toFixed(0)} ms, inference ${r.timings.inferenceMs.toFixed(0)} ms, total ${r.timings.totalMs.toFixed(0)} ms`);
      for (const w of r.warnings) out(`warning   ${w}`);
      for (const s of r.sets) {
        out(`\n${s.title} (${s.kind === 'cosine' ? 'cosine similarity' : s.kind === 'softmax' ? 'probability' : 'P(positive)'}), top ${Math.min(o.top, s.rows.length)} of ${s.rows.length}:`);
        for (const [i, row] of s.rows.slice(0, o.top).entries()) out(`  ${String(i + 1).padStart(3)}  ${row.score.toFixed(4)}  ${row.className}`);
      }
    }
    if (o.outFile) writeFileSync(o.outFile, JSON.stringify(r, null, 1));
    return 0;
  } finally {
    await rt.engine.dispose();
  }
}
