/**
 * `hlip eval --model M [--model M2 ...] --data DIR --labels CSV --set S [--layout hlip|raw] [--shard i/n] --out DIR`:
 * zero-shot evaluation of checkpoints on labelled studies with HLIP's metrics (src/eval). A shard writes its record;
 * `hlip merge` turns the shards' records into the report of one unsharded run.
 */
import { join } from 'node:path';
import { EVAL_SETS, type EvalSetId } from '../eval/metrics/set-metrics';
import { type Layout, type Progress, type Shard, evaluate } from '../eval/evaluate';
import { writeRecord, writeReport } from '../eval/report';
import { writeFileSync } from 'node:fs';
import { resolveProviders } from '../hlip/inference/onnx-sessions';
import { listsWebgpu } from '../hlip/inference/provider-order';
import { hlipWorkerScript } from './model-runtime';
import { type CliOptions, UsageError } from './options';

const str = (o: CliOptions, k: string) => {
  const v = o.values[k];
  return Array.isArray(v) ? v[v.length - 1] : typeof v === 'string' ? v : undefined;
};

export function parseShard(s: string | undefined): Shard | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard takes i/n with 0 <= i < n (e.g. 0/4), got "${s}"`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

export function positiveInt(o: CliOptions, name: string, dflt: number, min = 1): number {
  const v = str(o, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number >= ${min}`);
  return n;
}

const clock = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '?');

export async function evalCommand(o: CliOptions, out: (s: string) => void): Promise<number> {
  const need = (k: string, what: string) => str(o, k) ?? (() => { throw new UsageError(`eval: --${k} ${what} is required`); })();
  if (!o.models.length) throw new UsageError('eval: at least one --model <checkpoint> is required');
  const data = need('data', '<folder of studies>');
  const labels = need('labels', '<labels CSV>');
  const set = need('set', `<${EVAL_SETS.join('|')}>`) as EvalSetId;
  if (!EVAL_SETS.includes(set)) throw new UsageError(`--set is one of ${EVAL_SETS.join(', ')}`);
  const layout = (str(o, 'layout') ?? 'hlip') as Layout;
  if (layout !== 'hlip' && layout !== 'raw') throw new UsageError('--layout is hlip or raw');
  if (!o.outDir) throw new UsageError('eval: --out <folder> is required');
  const shard = parseShard(str(o, 'shard'));
  const draws = positiveInt(o, 'draws', 1000);
  const seed = positiveInt(o, 'seed', 0, 0);
  let last = 0;
  const onProgress = (p: Progress) => {
    const now = Date.now();
    if (o.quiet || (now - last < 2000 && p.done < p.total)) return;
    last = now;
    process.stderr.write(`eval: [${p.modelIndex + 1}/${p.models} ${p.model}] ${p.done}/${p.total} study runs, ${p.studiesPerSecond.toFixed(2)} studies/s, ETA ${clock(p.etaSeconds)}\n`);
  };
  const { record, stats } = await evaluate({
    models: o.models, data, labels, set, layout, shard, cache: join(o.cache, 'eval'), providers: resolveProviders(o.ep), softwareGpu: listsWebgpu(o.ep), workerScript: hlipWorkerScript(), vocab: o.vocab,
    onProgress, log: (s) => o.quiet || process.stderr.write(`eval: ${s}\n`),
  });
  // Run facts (timings, cache use) beside the outputs, never inside them: a report does not depend on how it was run.
  const runFile = join(o.outDir, 'run.json');
  if (shard && shard.count > 1) {
    writeRecord(record, o.outDir);
    writeFileSync(runFile, `${JSON.stringify(stats, null, 1)}\n`);
    out(`shard ${shard.index}/${shard.count}: ${record.studies.length} studies, ${record.skipped.length} skipped -> ${join(o.outDir, 'record.json')} (merge the shards with hlip merge)`);
    return 0;
  }
  const w = writeReport(record, o.outDir, { draws, seed });
  writeFileSync(runFile, `${JSON.stringify(stats, null, 1)}\n`);
  if (o.json) out(JSON.stringify(w.report, null, 1));
  else printSummary(w.report, out, [w.metrics, ...w.predictions]);
  return 0;
}

export function printSummary(r: ReturnType<typeof writeReport>['report'], out: (s: string) => void, files: string[]): void {
  out(`set ${r.set} (${r.layout} layout): ${r.studies.evaluated} studies evaluated, ${r.studies.skipped} skipped`);
  for (const m of r.models) {
    const main = Object.keys(m.metrics).filter((k) => /^(auc|balanced_acc) \((mri|ct|rsna|ctrate|pubbrain5_(anomaly|tumor|disease))\)$/.test(k));
    const fmt = (k: string) => {
      const v = m.metrics[k];
      const ci = m.ci95[k];
      return `${k}: ${v === null ? 'NaN' : v.toFixed(4)}${ci ? ` [${ci.map((x) => (x === null ? 'NaN' : x.toFixed(4))).join(', ')}]` : ''}`;
    };
    out(`${m.label}${m.untrained ? ' (UNTRAINED weights)' : ''}: ${main.map(fmt).join('; ')}`);
    for (const [k, s] of Object.entries(m.scorable)) out(`  ${k} over scorable columns: ${s.value?.toFixed(4)} (unscorable: ${s.unscorable.join(', ')})`);
  }
  for (const p of r.paired) {
    const main = Object.keys(p.differences).filter((k) => /^(auc|balanced_acc) \((mri|ct|rsna|ctrate|pubbrain5_(anomaly|tumor|disease))\)( scorable)?$/.test(k));
    for (const k of main) {
      const d = p.differences[k];
      if (d.difference !== null) out(`${p.b} - ${p.a} ${k}: ${d.difference >= 0 ? '+' : ''}${d.difference.toFixed(4)} [${d.ci95?.map((x) => x?.toFixed(4)).join(', ')}], p = ${d.p?.toFixed(4)}`);
    }
  }
  for (const s of r.skipped.slice(0, 20)) out(`skipped ${s.study}${s.model ? ` (${s.model})` : ''}: ${s.reason}`);
  if (r.skipped.length > 20) out(`... and ${r.skipped.length - 20} more skipped (metrics.json lists them all)`);
  for (const f of files) out(`wrote ${f}`);
}
