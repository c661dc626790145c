/** `hlip merge DIR... --out DIR`: shard records of one evaluation -> the report of one unsharded run. */
import { mergeRecords, readRecord, writeReport } from '../eval/report';
import { positiveInt, printSummary } from './eval';
import { type CliOptions, UsageError } from './options';

export async function mergeCommand(o: CliOptions, out: (s: string) => void): Promise<number> {
  if (!o.outDir) throw new UsageError('merge: --out <folder> is required');
  const record = mergeRecords(o.positional.map(readRecord));
  const w = writeReport(record, o.outDir, { draws: positiveInt(o, 'draws', 1000), seed: positiveInt(o, 'seed', 0, 0) });
  if (o.json) out(JSON.stringify(w.report, null, 1));
  else printSummary(w.report, out, [w.metrics, ...w.predictions]);
  return 0;
}
